// Synthetic episodes for tests and benchmarks when no rendered frames are at hand.
// Images imitate rendered camera frames (which compress very differently from noise): a
// smooth vertical gradient (table and wall) with a few flat coloured blocks (arm, cubes)
// that move a little each step, plus mild per-pixel sensor noise if asked.
#ifndef IVG_SERVICES_REPLAY_TESTING_SYNTHETIC_EPISODE_H_
#define IVG_SERVICES_REPLAY_TESTING_SYNTHETIC_EPISODE_H_

#include <cstdint>

#include "proto/episode.pb.h"

namespace ivg::replay::testing {

struct SyntheticEpisodeOptions {
  int actor_id = 0;
  int64_t episode_id = 0;
  int task_id = 0;
  int num_steps = 200;
  int image_size = 64;
  int num_rewards = 1;
  int proprio_size = 17;
  int action_size = 5;
  // Amplitude of uniform per-pixel noise (0 = none).
  int noise_amplitude = 0;
  uint64_t seed = 1;
};

Episode MakeSyntheticEpisode(const SyntheticEpisodeOptions& options);

}  // namespace ivg::replay::testing

#endif  // IVG_SERVICES_REPLAY_TESTING_SYNTHETIC_EPISODE_H_
