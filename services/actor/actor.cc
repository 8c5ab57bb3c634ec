#include "services/actor/actor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/derived_values.h"
#include "common/status/status_macros.h"
#include "env/model_proprio.h"
#include "env/task_table.h"
#include "glog/logging.h"
#include "services/replay/client/replay_client_options.h"

namespace ivg::actor {
absl::StatusOr<std::unique_ptr<Actor>> Actor::Create(const ExperimentConfig& config, int actor_id,
                                                     metrics::MetricRegistry* registry) {
  // From state the policy reads no image: the actor renders nothing.
  env::EnvOptions env_options;
  env_options.render = env::ObservesPixels(config.env());
  IVG_ASSIGN_OR_RETURN(std::unique_ptr<env::SawyerEnv> environment,
                       env::SawyerEnv::Create(config.env(), env_options));
  IVG_ASSIGN_OR_RETURN(std::unique_ptr<model::PolicyRunner> policy,
                       model::PolicyRunner::Create(config, config.actor().inference_threads()));
  policy->SetExplorationScale(ActorExplorationScale(config, actor_id));
  if (config.replay().shard_addresses_size() == 0) {
    return absl::InvalidArgumentError(
        "field 'replay.shard_addresses' is empty: the actor has no replay shard to insert into");
  }
  IVG_ASSIGN_OR_RETURN(
      std::unique_ptr<replay::ShardedReplayClient> replay,
      replay::ShardedReplayClient::Create(replay::ReplayClientOptionsFromConfig(config, registry)));
  return std::unique_ptr<Actor>(new Actor(config, actor_id, std::move(environment),
                                          std::move(policy), std::move(replay),
                                          param_server::ActorParameterClient::Create(config),
                                          registry));
}

Actor::Actor(const ExperimentConfig& config, int actor_id, std::unique_ptr<env::SawyerEnv> env,
             std::unique_ptr<model::PolicyRunner> policy,
             std::unique_ptr<replay::ShardedReplayClient> replay,
             std::unique_ptr<param_server::ActorParameterClient> params,
             metrics::MetricRegistry* registry)
    : config_(config),
      actor_id_(actor_id),
      env_(std::move(env)),
      policy_(std::move(policy)),
      replay_(std::move(replay)),
      params_(std::move(params)),
      rng_(static_cast<uint64_t>(config.actor().seed() + actor_id) * 0x9E3779B97F4A7C15ULL + 1),
      next_seed_(config.actor().seed() + actor_id),
      flush_backoff_(absl::Milliseconds(config.actor().retry_initial_backoff_ms())),
      parameter_wait_(flush_backoff_),
      registry_(registry) {
  const std::string id = absl::StrCat(actor_id);
  env_steps_ = registry->AddCounter("ivg_actor_env_steps_total", "Environment control steps.", {"actor"})
                   .WithLabels({id});
  clipped_actions_ = registry
                         ->AddCounter("ivg_actor_clipped_actions_total",
                                      "Actions outside [-1, 1] that the environment clipped.",
                                      {"actor"})
                         .WithLabels({id});
  dropped_episodes_ = registry
                          ->AddCounter("ivg_actor_dropped_episodes_total",
                                       "Finished episodes dropped because the pending queue "
                                       "was full during a replay outage.",
                                       {"actor"})
                          .WithLabels({id});
  insert_failures_ = registry
                         ->AddCounter("ivg_actor_insert_failures_total",
                                      "Failed episode inserts (retried).", {"actor"})
                         .WithLabels({id});
  insert_blocked_seconds_ =
      registry
          ->AddCounter("ivg_actor_insert_blocked_seconds_total",
                       "Seconds the actor waited, not acting, while the replay's rate limiter "
                       "held its episode (the learners were behind the replay ratio).",
                       {"actor"})
          .WithLabels({id});
  fetch_failures_ = registry
                        ->AddCounter("ivg_actor_param_fetch_failures_total",
                                     "Failed parameter fetches.", {"actor"})
                        .WithLabels({id});
  pending_gauge_ = registry
                       ->AddGauge("ivg_actor_episodes_pending",
                                  "Finished episodes not yet acknowledged by the replay.", {"actor"})
                       .WithLabels({id});
  param_version_ = registry
                       ->AddGauge("ivg_actor_param_version",
                                  "Parameter version the actor's policy uses.", {"actor"})
                       .WithLabels({id});
  registry
      ->AddGauge("ivg_actor_exploration_scale",
                 "Factor on the policy's std with which this actor samples its actions "
                 "(actor.min_exploration_scale).",
                 {"actor"})
      .WithLabels({id})
      ->Set(policy_->exploration_scale());
  param_version_lag_ = registry
                           ->AddGauge("ivg_actor_param_version_lag",
                                      "Newest published version minus the one in use, at the "
                                      "last fetch.",
                                      {"actor"})
                           .WithLabels({id});
  env_steps_per_second_ = registry
                              ->AddGauge("ivg_actor_env_steps_per_second",
                                         "Control steps per second over the last episode.",
                                         {"actor"})
                              .WithLabels({id});
  inference_seconds_ = registry
                           ->AddHistogram("ivg_actor_inference_seconds",
                                          "Policy inference time per step.", {"actor"},
                                          metrics::DefaultLatencyBuckets())
                           .WithLabels({id});
  env_step_seconds_ = registry
                          ->AddHistogram("ivg_actor_env_step_seconds",
                                         "Environment step time (physics + rendering).",
                                         {"actor"}, metrics::DefaultLatencyBuckets())
                          .WithLabels({id});
  param_version_->Set(-1);
}

std::string Actor::TaskName(int task_index) const {
  return Task_Name(TaskAt(config_, task_index));
}

bool Actor::RefreshParameters() {
  absl::StatusOr<param_server::ActorParameterClient::Refreshed> fetched =
      params_->Refresh(*policy_);
  if (!fetched.ok()) {
    if (fetched.status().code() != absl::StatusCode::kNotFound) {
      fetch_failures_->Increment();
      LOG_EVERY_N(WARNING, 20) << "actor " << actor_id_ << ": parameter fetch failed: "
                               << fetched.status() << " (keeping version "
                               << policy_->version() << ")";
    }
    return policy_->version() >= 0;
  }
  if (!fetched->load_error.ok()) {
    fetch_failures_->Increment();
    LOG(ERROR) << "actor " << actor_id_ << ": cannot load parameters: " << fetched->load_error;
  }
  param_version_->Set(static_cast<double>(policy_->version()));
  param_version_lag_->Set(static_cast<double>(fetched->newest_version - policy_->version()));
  return policy_->version() >= 0;
}

void Actor::FlushPending() {
  if (absl::Now() < next_flush_) return;
  replay_pushing_back_ = false;
  while (!pending_.empty()) {
    const absl::Time call_start = absl::Now();
    absl::StatusOr<InsertEpisodeResponse> inserted = replay_->InsertEpisode(pending_.front());
    if (!inserted.ok()) {
      const absl::StatusCode code = inserted.status().code();
      if (code == absl::StatusCode::kDeadlineExceeded) {
        // The rate limiter held the episode until just before the deadline and stored
        // nothing: the learners are behind. Not a failure; the caller waits and retries.
        insert_blocked_seconds_->Increment(absl::ToDoubleSeconds(absl::Now() - call_start));
        replay_pushing_back_ = true;
        break;
      }
      insert_failures_->Increment();
      if (code == absl::StatusCode::kInvalidArgument ||
          code == absl::StatusCode::kResourceExhausted) {
        // The replay will never accept this episode (invalid, or larger than it takes):
        // keeping it would block the queue.
        LOG(ERROR) << "actor " << actor_id_ << ": replay rejected episode "
                   << pending_.front().episode_id() << ": " << inserted.status();
        pending_.pop_front();
        dropped_episodes_->Increment();
        continue;
      }
      LOG_EVERY_N(WARNING, 10) << "actor " << actor_id_ << ": insert failed ("
                               << inserted.status() << "); " << pending_.size()
                               << " episode(s) pending, retrying in " << flush_backoff_;
      next_flush_ = absl::Now() + flush_backoff_;
      flush_backoff_ = std::min(flush_backoff_ * 2,
                                absl::Milliseconds(config_.actor().retry_max_backoff_ms()));
      break;
    }
    insert_blocked_seconds_->Increment(inserted->rate_limited_seconds());
    pending_.pop_front();
    flush_backoff_ = absl::Milliseconds(config_.actor().retry_initial_backoff_ms());
  }
  pending_gauge_->Set(static_cast<double>(pending_.size()));
}

void Actor::WaitWhileReplayPushesBack(const std::function<bool()>& should_stop) {
  while (replay_pushing_back_ && !pending_.empty() && !should_stop()) {
    next_flush_ = absl::InfinitePast();
    FlushPending();
  }
}

absl::Status Actor::RunEpisode() {
  // Algorithm 1: the newest parameters at each episode start. Before the first publish the
  // actor waits (with backoff) rather than filling the replay with an untrained policy.
  if (!RefreshParameters()) {
    FlushPending();
    absl::SleepFor(parameter_wait_);
    parameter_wait_ =
        std::min(parameter_wait_ * 2, absl::Milliseconds(config_.actor().retry_max_backoff_ms()));
    return absl::UnavailableError("no parameters published yet");
  }
  parameter_wait_ = absl::Milliseconds(config_.actor().retry_initial_backoff_ms());
  const int num_tasks = NumTasks(config_);
  const int task_index = static_cast<int>(rng_() % num_tasks);
  IVG_RETURN_IF_ERROR(env_->SetTaskIndex(task_index));
  IVG_ASSIGN_OR_RETURN(env::TimeStep step, env_->Reset(static_cast<uint64_t>(next_seed_)));
  next_seed_ += 1000003;  // Distinct seeds per episode, disjoint across actors in practice.

  Episode episode;
  episode.set_actor_id(actor_id_);
  episode.set_episode_id(episodes_finished_);
  episode.set_task_id(task_index);
  episode.set_param_version(policy_->version());
  // From state the episode holds no images (0 x 0): replay stores none.
  const int image_size =
      env::ObservesPixels(config_.env()) ? config_.env().image_size() : 0;
  episode.set_image_height(image_size);
  episode.set_image_width(image_size);
  policy_->StartEpisode();
  double episode_return = 0;
  const absl::Time start = absl::Now();
  while (true) {
    // Each frame's CNN features are computed once; the LSTM re-runs over the last H frames
    // from a fresh state (docs/algorithm.md, "Actors").
    const std::vector<float> proprio = env::ModelProprio(step.observation, config_.env());
    const absl::Time inference_start = absl::Now();
    IVG_ASSIGN_OR_RETURN(
        model::PolicyOutput output,
        policy_->ActOnNewestFrame({env::ModelImage(step.observation, config_.env()), proprio},
                                  task_index, /*deterministic=*/false, rng_()));
    inference_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - inference_start));

    Step* record = episode.add_steps();
    const absl::Span<const uint8_t> image = env::ModelImage(step.observation, config_.env());
    if (!image.empty()) record->set_image(image.data(), image.size());
    record->mutable_proprio()->Add(proprio.begin(), proprio.end());
    record->mutable_action()->Add(output.sample.begin(), output.sample.end());
    record->set_behaviour_log_prob(output.log_prob);

    const absl::Time step_start = absl::Now();
    const int64_t clipped_before_step = env_->clipped_action_count();
    IVG_ASSIGN_OR_RETURN(step, env_->Step(output.action));
    env_step_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - step_start));
    env_steps_->Increment();
    // Counted per step, like env steps, so their ratio over any interval is the clipped share.
    clipped_actions_->Increment(
        static_cast<double>(env_->clipped_action_count() - clipped_before_step));
    record->mutable_rewards()->Add(step.rewards.begin(), step.rewards.end());
    episode_return += step.reward;
    if (step.last) break;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  env_steps_per_second_->Set(episode.steps_size() / std::max(seconds, 1e-9));
  episode.set_episode_return(static_cast<float>(episode_return));

  const std::string task_name = TaskName(task_index);
  registry_->AddCounter("ivg_actor_episodes_total", "Finished episodes.", {"actor", "task"})
      .WithLabels({absl::StrCat(actor_id_), task_name})
      ->Increment();
  registry_
      ->AddCounter("ivg_actor_episode_return_sum_total",
                   "Sum of undiscounted episode returns (divide by episodes for the mean).",
                   {"actor", "task"})
      .WithLabels({absl::StrCat(actor_id_), task_name})
      ->Increment(std::max(0.0, episode_return));
  registry_->AddGauge("ivg_actor_episode_return", "Return of the last episode.", {"actor", "task"})
      .WithLabels({absl::StrCat(actor_id_), task_name})
      ->Set(episode_return);
  registry_
      ->AddCounter("ivg_actor_successes_total",
                   "Episodes above the task's success return (eval.*_success_return).",
                   {"actor", "task"})
      .WithLabels({absl::StrCat(actor_id_), task_name})
      ->Increment(env::IsSuccess(env::TaskSpecOf(TaskAt(config_, task_index)), config_,
                                 episode_return)
                      ? 1.0
                      : 0.0);

  pending_.push_back(std::move(episode));
  while (static_cast<int>(pending_.size()) > config_.actor().max_pending_episodes()) {
    pending_.pop_front();
    dropped_episodes_->Increment();
  }
  episodes_finished_ += 1;
  FlushPending();
  return absl::OkStatus();
}

absl::Status Actor::Run(const std::function<bool()>& should_stop) {
  const int64_t max_episodes = config_.actor().max_episodes();
  while (!should_stop() && (max_episodes == 0 || episodes_finished_ < max_episodes)) {
    WaitWhileReplayPushesBack(should_stop);
    if (should_stop()) break;
    absl::Status status = RunEpisode();
    if (status.code() == absl::StatusCode::kUnavailable) continue;  // No parameters yet.
    if (!status.ok()) return status;
  }
  // Give queued episodes a last chance before exiting.
  next_flush_ = absl::InfinitePast();
  FlushPending();
  if (!pending_.empty()) {
    LOG(WARNING) << "actor " << actor_id_ << ": exiting with " << pending_.size()
                 << " episode(s) not acknowledged by the replay";
  }
  return absl::OkStatus();
}

}  // namespace ivg::actor
