#include "services/replay/episode_validation.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace ivg::replay {
namespace {

absl::Status CheckFinite(const google::protobuf::RepeatedField<float>& values, int step,
                         const char* what) {
  for (int i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(absl::StrCat("step ", step, ": ", what, "[", i,
                                                     "] is not finite (", values[i], ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEpisode(const Episode& e, const EpisodeSpec& spec) {
  if (e.steps_size() < spec.sequence_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("episode (actor ", e.actor_id(), ", id ", e.episode_id(), ") has ",
                     e.steps_size(), " steps, fewer than one sequence of L = ",
                     spec.sequence_length));
  }
  if (!spec.images) {
    if (e.image_height() != 0 || e.image_width() != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "episode image size ", e.image_height(), "x", e.image_width(),
          " must be 0x0: the run observes state (env.observation OBSERVATION_STATE)"));
    }
  } else if (e.image_height() <= 0 || e.image_width() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("episode image size ", e.image_height(), "x",
                                                   e.image_width(), " is not positive"));
  }
  if (spec.images && spec.image_size > 0 &&
      (e.image_height() != spec.image_size || e.image_width() != spec.image_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "episode image size ", e.image_height(), "x", e.image_width(), " is not the configured ",
        spec.image_size, "x", spec.image_size));
  }
  if (e.task_id() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("episode task_id ", e.task_id(), " is negative"));
  }
  // Actor ids pick shards (actor_id % shards) and label metrics; there is no upper bound in
  // the config (`--scale actor=N` may exceed actor.num_actors), but none is negative.
  if (e.actor_id() < 0 || e.episode_id() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("episode actor_id ", e.actor_id(),
                                                   " and episode_id ", e.episode_id(),
                                                   " must not be negative"));
  }
  // Logged and summed into metrics downstream: a NaN would poison every return average.
  if (!std::isfinite(e.episode_return())) {
    return absl::InvalidArgumentError(
        absl::StrCat("episode_return is not finite (", e.episode_return(), ")"));
  }
  const size_t image_bytes = size_t{6} * e.image_height() * e.image_width();
  const int num_rewards = spec.num_rewards > 0 ? spec.num_rewards : e.steps(0).rewards_size();
  if (num_rewards < 1) {
    return absl::InvalidArgumentError("step 0 has no rewards (one per task is required)");
  }
  // A task id past the run's tasks would be stored and later crash every learner that
  // samples it (the batch's one-hot has num_rewards columns).
  if (e.task_id() >= num_rewards) {
    return absl::InvalidArgumentError(absl::StrCat("episode task_id ", e.task_id(),
                                                   " is out of range: the run has ", num_rewards,
                                                   " task(s), ids 0..", num_rewards - 1));
  }
  for (int t = 0; t < e.steps_size(); ++t) {
    const Step& s = e.steps(t);
    if (s.image().size() != image_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "step ", t, ": image has ", s.image().size(), " bytes, expected 6 x ", e.image_height(),
          " x ", e.image_width(), " = ", image_bytes,
          spec.images ? "" : " (the run observes state: no image)"));
    }
    if (s.proprio_size() != spec.proprio_size) {
      return absl::InvalidArgumentError(absl::StrCat("step ", t, ": proprio has ",
                                                     s.proprio_size(), " values, expected ",
                                                     spec.proprio_size));
    }
    if (s.action_size() != spec.action_size) {
      return absl::InvalidArgumentError(absl::StrCat("step ", t, ": action has ", s.action_size(),
                                                     " values, expected ", spec.action_size));
    }
    if (s.rewards_size() != num_rewards) {
      return absl::InvalidArgumentError(absl::StrCat("step ", t, ": ", s.rewards_size(),
                                                     " rewards, expected ", num_rewards));
    }
    if (auto st = CheckFinite(s.proprio(), t, "proprio"); !st.ok()) return st;
    if (auto st = CheckFinite(s.action(), t, "action"); !st.ok()) return st;
    if (auto st = CheckFinite(s.rewards(), t, "rewards"); !st.ok()) return st;
    if (!std::isfinite(s.behaviour_log_prob())) {
      return absl::InvalidArgumentError(absl::StrCat("step ", t,
                                                     ": behaviour_log_prob is not finite (",
                                                     s.behaviour_log_prob(), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace ivg::replay
