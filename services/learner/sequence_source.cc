#include "services/learner/sequence_source.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/tensor/tensor_proto_util.h"

namespace ivg::learner {
namespace {

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace

absl::StatusOr<SequenceBatch> AssembleBatch(
    const std::vector<std::pair<const Episode*, int>>& windows, int sequence_length) {
  if (windows.empty()) return absl::InvalidArgumentError("no sequences to assemble");
  const Episode& first = *windows.front().first;
  const int64_t b = windows.size(), l = sequence_length;
  const int64_t h = first.image_height(), w = first.image_width();
  const int64_t image_bytes = 6 * h * w;
  const int64_t p = first.steps(0).proprio_size(), a = first.steps(0).action_size();
  const int64_t m = first.steps(0).rewards_size();
  std::string images;
  images.reserve(b * l * image_bytes);
  std::vector<float> proprio, actions, rewards, log_probs;
  std::vector<int32_t> task_ids;
  for (const auto& [episode, start] : windows) {
    if (episode->image_height() != h || episode->image_width() != w) {
      return absl::InvalidArgumentError("episodes of one batch must share the image size");
    }
    if (start < 0 || start + l > episode->steps_size()) {
      return absl::InvalidArgumentError(absl::StrCat("window [", start, ", ", start + l,
                                                     ") outside an episode of ",
                                                     episode->steps_size(), " steps"));
    }
    task_ids.push_back(episode->task_id());
    for (int t = start; t < start + l; ++t) {
      const Step& s = episode->steps(t);
      if (static_cast<int64_t>(s.image().size()) != image_bytes || s.proprio_size() != p ||
          s.action_size() != a || s.rewards_size() != m) {
        return absl::InvalidArgumentError(absl::StrCat(
            "step ", t, " of episode ", episode->episode_id(), " has image ", s.image().size(),
            " bytes, ", s.proprio_size(), " proprio, ", s.action_size(), " action, ",
            s.rewards_size(), " rewards; expected ", image_bytes, ", ", p, ", ", a, ", ", m));
      }
      images.append(s.image());
      proprio.insert(proprio.end(), s.proprio().begin(), s.proprio().end());
      actions.insert(actions.end(), s.action().begin(), s.action().end());
      rewards.insert(rewards.end(), s.rewards().begin(), s.rewards().end());
      log_probs.push_back(s.behaviour_log_prob());
    }
  }
  SequenceBatch batch;
  batch.set_batch_size(b);
  batch.set_sequence_length(l);
  *batch.mutable_images() = MakeTensorProto(DTYPE_UINT8, {b, l, 6, h, w}, std::move(images));
  *batch.mutable_proprio() = MakeTensorProto(DTYPE_FLOAT32, {b, l, p}, Bytes(proprio));
  *batch.mutable_actions() = MakeTensorProto(DTYPE_FLOAT32, {b, l, a}, Bytes(actions));
  *batch.mutable_rewards() = MakeTensorProto(DTYPE_FLOAT32, {b, l, m}, Bytes(rewards));
  *batch.mutable_behaviour_log_probs() =
      MakeTensorProto(DTYPE_FLOAT32, {b, l}, Bytes(log_probs));
  *batch.mutable_task_ids() = MakeTensorProto(DTYPE_INT32, {b}, Bytes(task_ids));
  return batch;
}

InMemorySequenceSource::InMemorySequenceSource(int sequence_length, uint64_t seed)
    : sequence_length_(sequence_length), rng_(seed) {}

absl::Status InMemorySequenceSource::AddEpisode(const Episode& episode) {
  if (episode.steps_size() < sequence_length_) {
    return absl::InvalidArgumentError(absl::StrCat("episode has ", episode.steps_size(),
                                                   " steps, fewer than one sequence of ",
                                                   sequence_length_));
  }
  auto shared = std::make_shared<const Episode>(episode);
  for (int start = 0; start + sequence_length_ <= episode.steps_size();
       start += sequence_length_) {
    windows_.push_back({shared, start});
  }
  return absl::OkStatus();
}

absl::StatusOr<SequenceBatch> InMemorySequenceSource::Sample(int batch_size) {
  if (windows_.empty()) return absl::FailedPreconditionError("the in-memory buffer is empty");
  std::uniform_int_distribution<size_t> pick(0, windows_.size() - 1);
  std::vector<std::pair<const Episode*, int>> chosen;
  for (int i = 0; i < batch_size; ++i) {
    const Window& w = windows_[pick(rng_)];
    chosen.emplace_back(w.episode.get(), w.start);
  }
  return AssembleBatch(chosen, sequence_length_);
}

std::string InMemorySequenceSource::SaveState() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

absl::Status InMemorySequenceSource::RestoreState(const std::string& state) {
  if (state.empty()) return absl::OkStatus();
  std::istringstream in(state);
  in >> rng_;
  if (in.fail()) return absl::InvalidArgumentError("cannot parse the in-memory sampler state");
  return absl::OkStatus();
}

std::vector<Episode> MakeSyntheticEpisodes(int num_episodes, int steps, int image_size,
                                           int proprio_size, int action_size, int num_tasks,
                                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<Episode> episodes;
  for (int e = 0; e < num_episodes; ++e) {
    Episode episode;
    episode.set_actor_id(0);
    episode.set_episode_id(e);
    episode.set_task_id(static_cast<int>(rng() % num_tasks));
    episode.set_image_height(image_size);
    episode.set_image_width(image_size);
    float x = uniform(rng) * image_size;
    for (int t = 0; t < steps; ++t) {
      Step* s = episode.add_steps();
      // A bright vertical band that moves with the first action component.
      std::string image(6 * image_size * image_size, '\0');
      for (int c = 0; c < 6; ++c) {
        for (int r = 0; r < image_size; ++r) {
          for (int col = 0; col < image_size; ++col) {
            if (std::abs(col - x) < image_size / 8.0f) {
              image[(c * image_size + r) * image_size + col] = static_cast<char>(200);
            }
          }
        }
      }
      s->set_image(std::move(image));
      for (int i = 0; i < proprio_size; ++i) {
        s->add_proprio(std::sin(0.1f * x + static_cast<float>(i)));
      }
      float first_action = 0, log_prob = 0;
      for (int i = 0; i < action_size; ++i) {
        const float a = normal(rng);
        if (i == 0) first_action = a;
        s->add_action(a);
        log_prob += -0.5f * a * a - 0.9189385f;  // log N(a; 0, 1).
      }
      x = std::fmod(x + 2.0f * first_action + image_size, static_cast<float>(image_size));
      for (int k = 0; k < num_tasks; ++k) {
        s->add_rewards(std::cos(0.1f * x + static_cast<float>(k)));
      }
      s->set_behaviour_log_prob(log_prob);
    }
    episodes.push_back(std::move(episode));
  }
  return episodes;
}

}  // namespace ivg::learner
