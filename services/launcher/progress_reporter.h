// The launcher's view of a running cluster: scrapes every process's /metrics, prints one
// progress line, appends a row to <run_dir>/metrics.csv and redraws the learning curve
// (<run_dir>/learning_curve.png, through gnuplot; learning_curve.h) from that CSV and the
// evaluator's <run_dir>/eval.csv.
#ifndef IVG_SERVICES_LAUNCHER_PROGRESS_REPORTER_H_
#define IVG_SERVICES_LAUNCHER_PROGRESS_REPORTER_H_

#include <deque>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/launcher/cluster_plan.h"
#include "services/launcher/prometheus_text.h"

namespace ivg::launcher {

// The evaluator's newest scores of one task (NaN until reported): the deterministic learned
// policy, the random and scripted baselines on the same seeds, and the normalised score.
struct EvalScores {
  double learned = std::numeric_limits<double>::quiet_NaN();
  double random = std::numeric_limits<double>::quiet_NaN();
  double scripted = std::numeric_limits<double>::quiet_NaN();
  double normalized = std::numeric_limits<double>::quiet_NaN();
  // The learned policy's mean cosine between its TCP command and the direction to the target
  // object (Reach, Lift; env/target_approach.h).
  double learned_heading = std::numeric_limits<double>::quiet_NaN();
};

// One progress row; rates are over the interval since the previous row.
struct ProgressRow {
  double elapsed_seconds = 0;
  double episodes = 0;
  double env_steps = 0;
  double env_steps_per_second = 0;
  // The learner's step (the core's, so a resumed run continues its count).
  double learner_steps = 0;
  double learner_steps_per_second = 0;
  double replay_items = 0;
  double published_version = -1;
  // Mean undiscounted return of episodes finished in the interval, per task name.
  std::map<std::string, double> mean_return;
  // Newest value of each learner loss term (rank 0).
  std::map<std::string, double> losses;
  // The evaluator's newest results per task, and the learner step they evaluated (-1: none).
  std::map<std::string, EvalScores> eval;
  double eval_learner_step = -1;
  // Learner rank 0's ivg_learner_diagnostic{name} values (policy std, |mu|, value, ...).
  std::map<std::string, double> diagnostics;
  // Actions the environment clipped, per env step of the interval (NaN without steps).
  double clipped_fraction = std::numeric_limits<double>::quiet_NaN();
  // Sequences sampled x sequence length / env steps so far: how often each step was replayed.
  double replay_ratio = std::numeric_limits<double>::quiet_NaN();
  // Share of the interval the actors spent held by the replay's rate limiter, averaged over
  // the actors that answered (NaN without actors).
  double actors_blocked_fraction = std::numeric_limits<double>::quiet_NaN();
  int processes_up = 0;
  int processes_total = 0;
};

// Totals scraped at one instant (what rates are computed from).
struct ClusterTotals {
  absl::Time when;
  double episodes = 0;
  double env_steps = 0;
  double learner_steps = 0;          // ivg_learner_step: the step, resumed runs included
  double learner_steps_counted = 0;  // ivg_learner_steps_total: steps of the live processes
  double replay_items = 0;
  double published_version = -1;
  std::map<std::string, double> return_sum;    // per task
  std::map<std::string, double> return_count;  // per task
  std::map<std::string, double> losses;
  std::map<std::string, EvalScores> eval;
  double eval_learner_step = -1;
  std::map<std::string, double> diagnostics;
  double clipped_actions = 0;
  double learner_samples = 0;  // sequences, summed over ranks
  double actor_blocked_seconds = 0;  // summed over actors
  int actors_up = 0;
  int processes_up = 0;
};

// Sums the metrics of all endpoints; an endpoint that does not answer counts as down.
ClusterTotals ScrapeCluster(const std::vector<MetricsEndpoint>& endpoints);

// Rates and interval means between two scrapes.
// `sequence_length` (H + K) turns sampled sequences into sampled steps for the replay ratio.
ProgressRow MakeProgressRow(const ClusterTotals& previous, const ClusterTotals& current,
                            absl::Time start, int processes_total, int sequence_length = 1);

// The default progress line, at most 160 characters: elapsed time, env and learner
// throughput, the actors' mean return and the newest evaluation (the learned policy's return,
// its normalised score against the random and scripted baselines on the same seeds and, for
// tasks with a target object, its heading; before the first evaluation the baselines), after
// "up N/M", the processes running of those planned. With several tasks the evaluation is
// summarised as the mean normalised score over the tasks evaluated and the best task.
std::string FormatProgressLine(const ProgressRow& row);

// Everything: the compact line's fields plus episodes, replay items, the parameter version,
// every task's evaluation, the policy and value diagnostics (why it learns or not), the replay
// ratio, the actors' blocked share and every loss term (`ivg_cluster --progress=verbose`).
std::string FormatVerboseProgressLine(const ProgressRow& row);

enum class ProgressStyle { kCompact, kVerbose };

class ProgressReporter {
 public:
  // Reports in the moving mean of the actors' returns (12 x 5 s = one minute).
  static constexpr int kSmoothingWindow = 12;

  // `task_names` label the return columns (the actors' "task" label values, e.g. LIFT_RED).
  ProgressReporter(std::vector<MetricsEndpoint> endpoints, std::string run_dir,
                   std::vector<std::string> task_names, int sequence_length,
                   ProgressStyle style = ProgressStyle::kCompact);

  // Scrapes, prints the line to stdout, appends the CSV row, and redraws the curve.
  ProgressRow Report();

 private:
  void AppendCsv(const ProgressRow& row);
  void DrawLearningCurve();

  const std::vector<MetricsEndpoint> endpoints_;
  const std::string run_dir_;
  const absl::Time start_;
  ClusterTotals previous_;
  const std::vector<std::string> task_names_;
  const int sequence_length_;
  const ProgressStyle style_;
  // The last kSmoothingWindow interval mean returns per task (the curve's moving mean).
  std::map<std::string, std::deque<double>> recent_returns_;
  int reports_ = 0;
};

}  // namespace ivg::launcher

#endif  // IVG_SERVICES_LAUNCHER_PROGRESS_REPORTER_H_
