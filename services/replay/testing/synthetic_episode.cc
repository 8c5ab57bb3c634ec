#include "services/replay/testing/synthetic_episode.h"

#include <algorithm>
#include <random>

namespace ivg::replay::testing {

Episode MakeSyntheticEpisode(const SyntheticEpisodeOptions& o) {
  std::mt19937_64 rng(o.seed * 1000003 + o.actor_id * 7919 + o.episode_id);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  Episode e;
  e.set_actor_id(o.actor_id);
  e.set_episode_id(o.episode_id);
  e.set_task_id(o.task_id);
  e.set_param_version(o.episode_id);
  e.set_image_height(o.image_size);
  e.set_image_width(o.image_size);
  const int S = o.image_size;
  struct Block {
    float x, y, vx, vy;
    int w, h;
    uint8_t rgb[3];
  };
  Block blocks[3] = {
      {S * 0.3f, S * 0.6f, 0.3f, -0.1f, S / 8, S / 8, {200, 30, 30}},    // red cube
      {S * 0.6f, S * 0.65f, -0.2f, 0.05f, S / 8, S / 8, {30, 40, 190}},  // blue cube
      {S * 0.5f, S * 0.2f, 0.15f, 0.25f, S / 6, S / 3, {120, 120, 130}},  // arm
  };
  float episode_return = 0;
  for (int t = 0; t < o.num_steps; ++t) {
    Step* step = e.add_steps();
    std::string image(static_cast<size_t>(6) * S * S, '\0');
    for (int cam = 0; cam < 2; ++cam) {
      for (int c = 0; c < 3; ++c) {
        uint8_t* plane = reinterpret_cast<uint8_t*>(image.data()) + (cam * 3 + c) * S * S;
        for (int y = 0; y < S; ++y) {
          // Wall above, table below, each a smooth gradient.
          const int base = y < S / 2 ? 150 + c * 10 + y : 90 + c * 5 + y / 2;
          for (int x = 0; x < S; ++x) plane[y * S + x] = static_cast<uint8_t>(base + cam * 3);
        }
        for (const Block& b : blocks) {
          const int x0 = std::clamp(static_cast<int>(b.x) + cam * 2, 0, S - 1);
          const int y0 = std::clamp(static_cast<int>(b.y), 0, S - 1);
          for (int y = y0; y < std::min(S, y0 + b.h); ++y) {
            for (int x = x0; x < std::min(S, x0 + b.w); ++x) plane[y * S + x] = b.rgb[c];
          }
        }
        if (o.noise_amplitude > 0) {
          std::uniform_int_distribution<int> noise(-o.noise_amplitude, o.noise_amplitude);
          for (int i = 0; i < S * S; ++i) {
            plane[i] = static_cast<uint8_t>(std::clamp(plane[i] + noise(rng), 0, 255));
          }
        }
      }
    }
    step->set_image(std::move(image));
    for (int i = 0; i < o.proprio_size; ++i) step->add_proprio(unit(rng));
    for (int i = 0; i < o.action_size; ++i) step->add_action(unit(rng));
    for (int i = 0; i < o.num_rewards; ++i) {
      const float r = 0.5f + 0.5f * unit(rng);
      step->add_rewards(r);
      if (i == 0) episode_return += r;
    }
    step->set_behaviour_log_prob(-2.0f + unit(rng));
    for (Block& b : blocks) {
      b.x = std::clamp(b.x + b.vx, 0.0f, static_cast<float>(S - b.w));
      b.y = std::clamp(b.y + b.vy, 0.0f, static_cast<float>(S - b.h));
    }
  }
  e.set_episode_return(episode_return);
  return e;
}

}  // namespace ivg::replay::testing
