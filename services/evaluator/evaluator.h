// The evaluator: an actor that writes nothing to replay (Acme's convention). It scores the
// deterministic policy (the mean action) of the newest published parameters every
// eval.every_learner_steps learner steps, on eval.episodes fixed seeds per task (the same
// seeds every time, disjoint from the actors'), and once per run a uniform random policy and
// the scripted controller on the same seeds: the floor and ceiling every result is read
// against, as the normalised score (eval - random) / (scripted - random).
//
// Results go to Prometheus (ivg_eval_*), to <cluster.run_dir>/eval.csv (one row per task and
// evaluation; the launcher's progress line and learning curve read it) and to the log.
#ifndef IVG_SERVICES_EVALUATOR_EVALUATOR_H_
#define IVG_SERVICES_EVALUATOR_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "env/sawyer_env.h"
#include "model/policy/policy_runner.h"
#include "proto/config.pb.h"
#include "services/evaluator/eval_video.h"
#include "services/param_server/client/actor_parameter_client.h"
#include "services/replay/client/sharded_replay_client.h"

namespace ivg::evaluator {

enum class EvalPolicy { kLearned, kRandom, kScripted };
const char* EvalPolicyName(EvalPolicy policy);

// One policy's results on one task's eval seeds.
struct EvalSummary {
  EvalPolicy policy = EvalPolicy::kLearned;
  int task_index = 0;
  std::vector<double> returns;  // one per seed, in seed order
  double mean = 0;
  double stddev = 0;  // population standard deviation over the seeds
  double min = 0;
  double max = 0;
  double success_rate = 0;
  // For tasks with a target object (target_approach.h), NaN otherwise: the mean over episodes
  // of the heading cosine, and the fraction of episodes whose TCP reached the object.
  double heading_cosine = std::numeric_limits<double>::quiet_NaN();
  double reached_rate = std::numeric_limits<double>::quiet_NaN();
};

// One evaluation episode.
struct EpisodeResult {
  double episode_return = 0;
  // TargetApproach's numbers; NaN for tasks without a target object.
  double heading_cosine = std::numeric_limits<double>::quiet_NaN();
  double closest_distance = std::numeric_limits<double>::quiet_NaN();
};

// Mean, spread and success rate of `returns` for `task` (success: env/task_table.h).
EvalSummary Summarize(const ExperimentConfig& config, EvalPolicy policy, int task_index,
                      std::vector<double> returns);

// Fills `summary`'s heading cosine and reached rate from its episodes (NaN entries, i.e.
// episodes without a target object or without a counted step, are left out).
void SummarizeApproach(const std::vector<EpisodeResult>& episodes, EvalSummary* summary);

// (learned - random) / (scripted - random); NaN when the scripted and random means are equal
// or either is missing.
double NormalizedScore(double learned, double random, double scripted);

struct EvaluatorOptions {
  // Where the rows go; empty = <cluster.run_dir>/eval.csv.
  std::string csv_path;
  // Count the env steps in the replay shards named in the config (a finished run's are gone).
  bool read_replay = true;
};

class Evaluator {
 public:
  // Builds the environment and the policy, and clients of the parameter server and (for the
  // env-step count only; it never inserts) of the replay shards named in `config`.
  static absl::StatusOr<std::unique_ptr<Evaluator>> Create(const ExperimentConfig& config,
                                                           metrics::MetricRegistry* registry,
                                                           EvaluatorOptions options = {});

  // Scores the baselines (eval.score_baselines), then evaluates each due parameter version
  // until `should_stop()`. Parameter-server outages are waited out.
  absl::Status Run(const std::function<bool()>& should_stop);

  // Random and scripted policies on every task's eval seeds; rows go to eval.csv.
  absl::Status ScoreBaselines();
  // Fetches and loads the newest parameters; true when the loaded ones are due for
  // evaluation (the first version, then every eval.every_learner_steps learner steps).
  absl::StatusOr<bool> FetchIfDue();
  // The deterministic learned policy on every task's eval seeds; rows go to eval.csv.
  absl::StatusOr<std::vector<EvalSummary>> EvaluateLearned();
  // Loads parameters as the parameter server stores them (a run's
  // param_server/parameters.pb: a PublishRequest), for a final evaluation of a finished run.
  absl::Status LoadStoredParameters(const std::string& path);

  // One episode of `policy` on task `task_index` from `seed`: its return and how it approached
  // the task's target object. With `video`, appends one frame per observation (eval_video.h).
  absl::StatusOr<EpisodeResult> RunEpisode(EvalPolicy policy, int task_index, uint64_t seed,
                                    std::vector<std::vector<uint8_t>>* video = nullptr);

  // Per task index: the baselines' summaries (absent when not scored or no controller).
  const std::map<int, EvalSummary>& random_baseline() const { return random_; }
  const std::map<int, EvalSummary>& scripted_baseline() const { return scripted_; }
  int64_t evaluations() const { return evaluations_; }
  std::string csv_path() const;
  // <run_dir>/videos: eval_step_<N>.png (animated PNG of the first task's first eval seed,
  // learned policy, both cameras and the reward bar) and latest.png, with eval.write_videos.
  std::string videos_dir() const;

 private:
  Evaluator(const ExperimentConfig& config, EvaluatorOptions options,
            std::unique_ptr<env::SawyerEnv> env,
            std::unique_ptr<model::PolicyRunner> policy,
            std::unique_ptr<replay::ShardedReplayClient> replay,
            std::unique_ptr<param_server::ActorParameterClient> params,
            metrics::MetricRegistry* registry);

  absl::StatusOr<std::vector<EvalSummary>> EvaluateAllTasks(
      EvalPolicy policy, std::vector<std::vector<uint8_t>>* video = nullptr);
  // Failures are logged: a video never stops an evaluation.
  void WriteVideo(const std::vector<std::vector<uint8_t>>& frames);
  // Environment steps inserted into the replay so far (sum over shards); -1 if unknown.
  int64_t ReplayEnvSteps();
  void Report(const EvalSummary& summary, int64_t version, int64_t learner_step,
              int64_t env_steps);
  absl::Status AppendCsvRow(const EvalSummary& summary, int64_t version, int64_t learner_step,
                            int64_t env_steps, double normalized);

  const ExperimentConfig config_;
  const EvaluatorOptions options_;
  std::unique_ptr<env::SawyerEnv> env_;
  std::unique_ptr<model::PolicyRunner> policy_;
  std::unique_ptr<replay::ShardedReplayClient> replay_;  // null without shards
  std::unique_ptr<param_server::ActorParameterClient> params_;
  metrics::MetricRegistry* const registry_;
  EvalVideoLayout video_layout_;  // image size from the config; set once
  const absl::Time start_ = absl::Now();
  std::map<int, EvalSummary> random_, scripted_;
  int64_t last_evaluated_step_ = -1;
  int64_t learner_step_ = -1;
  int64_t evaluations_ = 0;
};

}  // namespace ivg::evaluator

#endif  // IVG_SERVICES_EVALUATOR_EVALUATOR_H_
