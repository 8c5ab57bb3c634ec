// One actor (paper algorithm 1, docs/algorithm.md "Actors"): at each episode start fetch the
// newest parameters; every step encode the last H observations from a fresh LSTM state,
// sample an action and record log mu(a | h); at the episode end send the episode to the
// actor's replay shard, which splits it into L-step items.
//
// Outages do not stop acting: a failed parameter fetch keeps the current policy; a failed
// insert keeps the episode in a bounded queue that is retried with exponential backoff
// (episodes beyond the bound are dropped, oldest first, and counted). Back-pressure is not an
// outage: when the replay's rate limiter holds an insert (DEADLINE_EXCEEDED: the learners
// are behind the configured replay ratio) the actor stops acting and retries that episode
// until it is accepted, so a throttled actor neither drops episodes nor takes CPU from the
// learners; the time it spends so is ivg_actor_insert_blocked_seconds_total.
#ifndef IVG_SERVICES_ACTOR_ACTOR_H_
#define IVG_SERVICES_ACTOR_ACTOR_H_

#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "env/sawyer_env.h"
#include "model/policy/policy_runner.h"
#include "proto/config.pb.h"
#include "proto/episode.pb.h"
#include "services/param_server/client/actor_parameter_client.h"
#include "services/replay/client/sharded_replay_client.h"

namespace ivg::actor {

class Actor {
 public:
  // Connects to the parameter server and the replay shards named in `config`, builds the
  // environment (seeded with actor.seed + actor_id) and the policy.
  static absl::StatusOr<std::unique_ptr<Actor>> Create(const ExperimentConfig& config,
                                                       int actor_id,
                                                       metrics::MetricRegistry* registry);

  // Runs episodes until `should_stop()` or actor.max_episodes.
  absl::Status Run(const std::function<bool()>& should_stop);

  // One whole episode (fetch, act, queue for insertion, flush). Exposed for tests.
  absl::Status RunEpisode();

  int64_t episodes_finished() const { return episodes_finished_; }
  int pending_episodes() const { return static_cast<int>(pending_.size()); }

 private:
  Actor(const ExperimentConfig& config, int actor_id, std::unique_ptr<env::SawyerEnv> env,
        std::unique_ptr<model::PolicyRunner> policy,
        std::unique_ptr<replay::ShardedReplayClient> replay,
        std::unique_ptr<param_server::ActorParameterClient> params,
        metrics::MetricRegistry* registry);

  // Fetches newer parameters if there are any. Returns whether the actor has a policy.
  bool RefreshParameters();
  // Sends queued episodes in order until one fails; then backs off, except when the replay
  // pushes back (rate limiter), which sets `replay_pushing_back_` instead.
  void FlushPending();
  // While the replay pushes back, retries the oldest pending episode until it is accepted,
  // the replay fails otherwise, or `should_stop()`.
  void WaitWhileReplayPushesBack(const std::function<bool()>& should_stop);
  std::string TaskName(int task_index) const;

  const ExperimentConfig config_;
  const int actor_id_;
  std::unique_ptr<env::SawyerEnv> env_;
  std::unique_ptr<model::PolicyRunner> policy_;
  std::unique_ptr<replay::ShardedReplayClient> replay_;
  std::unique_ptr<param_server::ActorParameterClient> params_;
  std::mt19937_64 rng_;
  int64_t episodes_finished_ = 0;
  int64_t next_seed_;
  std::deque<Episode> pending_;
  absl::Time next_flush_ = absl::InfinitePast();
  absl::Duration flush_backoff_;
  absl::Duration parameter_wait_;
  bool replay_pushing_back_ = false;

  metrics::MetricRegistry* const registry_;
  metrics::Counter* env_steps_;
  metrics::Counter* clipped_actions_;
  metrics::Counter* dropped_episodes_;
  metrics::Counter* insert_failures_;
  metrics::Counter* insert_blocked_seconds_;
  metrics::Counter* fetch_failures_;
  metrics::Gauge* pending_gauge_;
  metrics::Gauge* param_version_;
  metrics::Gauge* param_version_lag_;
  metrics::Gauge* env_steps_per_second_;
  metrics::Histogram* inference_seconds_;
  metrics::Histogram* env_step_seconds_;
};

}  // namespace ivg::actor

#endif  // IVG_SERVICES_ACTOR_ACTOR_H_
