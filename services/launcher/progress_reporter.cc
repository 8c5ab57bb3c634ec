#include "services/launcher/progress_reporter.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/metrics/http_get.h"
#include "glog/logging.h"
#include "services/launcher/learning_curve.h"

namespace ivg::launcher {
namespace {

// Metric names the services export (see each service's README).
constexpr char kActorEpisodes[] = "ivg_actor_episodes_total";
constexpr char kActorEnvSteps[] = "ivg_actor_env_steps_total";
constexpr char kActorReturnSum[] = "ivg_actor_episode_return_sum_total";
constexpr char kLearnerStepsCounted[] = "ivg_learner_steps_total";
constexpr char kLearnerStep[] = "ivg_learner_step";
constexpr char kLearnerLoss[] = "ivg_learner_loss";
constexpr char kReplayItems[] = "ivg_replay_items";
constexpr char kParamVersion[] = "ivg_param_server_version";
constexpr char kActorClipped[] = "ivg_actor_clipped_actions_total";
constexpr char kActorBlocked[] = "ivg_actor_insert_blocked_seconds_total";
constexpr char kLearnerSamples[] = "ivg_learner_samples_total";
constexpr char kLearnerDiagnostic[] = "ivg_learner_diagnostic";
constexpr char kEvalReturn[] = "ivg_eval_return";
constexpr char kEvalNormalized[] = "ivg_eval_normalized_score";
constexpr char kEvalLearnerStep[] = "ivg_eval_learner_step";
constexpr char kEvalHeading[] = "ivg_eval_target_heading_cosine";

std::string Label(const Sample& sample, const std::string& name) {
  auto it = sample.labels.find(name);
  return it == sample.labels.end() ? "" : it->second;
}

}  // namespace

ClusterTotals ScrapeCluster(const std::vector<MetricsEndpoint>& endpoints) {
  ClusterTotals totals;
  totals.when = absl::Now();
  for (const MetricsEndpoint& endpoint : endpoints) {
    auto response = metrics::HttpGet("127.0.0.1", endpoint.port, "/metrics", absl::Seconds(2));
    if (!response.ok() || response->status_code != 200) continue;
    auto samples = ParsePrometheusText(response->body);
    if (!samples.ok()) {
      LOG(WARNING) << endpoint.process << " served unparsable metrics: " << samples.status();
      continue;
    }
    totals.processes_up += 1;
    if (endpoint.role == "actor") {
      totals.episodes += SumSamples(*samples, kActorEpisodes);
      totals.env_steps += SumSamples(*samples, kActorEnvSteps);
      totals.clipped_actions += SumSamples(*samples, kActorClipped);
      totals.actor_blocked_seconds += SumSamples(*samples, kActorBlocked);
      totals.actors_up += 1;
      for (const Sample& sample : *samples) {
        if (sample.name == kActorReturnSum) {
          totals.return_sum[sample.labels.count("task") ? sample.labels.at("task") : ""] +=
              sample.value;
        } else if (sample.name == kActorEpisodes) {
          totals.return_count[sample.labels.count("task") ? sample.labels.at("task") : ""] +=
              sample.value;
        }
      }
    } else if (endpoint.role == "learner") {
      // Ranks step together; the furthest rank is the learner step count.
      totals.learner_steps = std::max(totals.learner_steps, SumSamples(*samples, kLearnerStep));
      totals.learner_steps_counted =
          std::max(totals.learner_steps_counted, SumSamples(*samples, kLearnerStepsCounted));
      totals.learner_samples += SumSamples(*samples, kLearnerSamples);
      if (endpoint.process == "learner-0") {
        for (const Sample& sample : *samples) {
          if (sample.name == kLearnerLoss && sample.labels.count("term")) {
            totals.losses[sample.labels.at("term")] = sample.value;
          } else if (sample.name == kLearnerDiagnostic && sample.labels.count("name")) {
            totals.diagnostics[sample.labels.at("name")] = sample.value;
          }
        }
      }
    } else if (endpoint.role == "replay") {
      totals.replay_items += SumSamples(*samples, kReplayItems);
    } else if (endpoint.role == "evaluator") {
      for (const Sample& sample : *samples) {
        if (sample.name == kEvalReturn) {
          EvalScores& scores = totals.eval[Label(sample, "task")];
          const std::string policy = Label(sample, "policy");
          if (policy == "learned") scores.learned = sample.value;
          if (policy == "random") scores.random = sample.value;
          if (policy == "scripted") scores.scripted = sample.value;
        } else if (sample.name == kEvalNormalized) {
          totals.eval[Label(sample, "task")].normalized = sample.value;
        } else if (sample.name == kEvalHeading && Label(sample, "policy") == "learned") {
          totals.eval[Label(sample, "task")].learned_heading = sample.value;
        } else if (sample.name == kEvalLearnerStep) {
          totals.eval_learner_step = sample.value;
        }
      }
    } else if (endpoint.role == "param_server") {
      if (HasSample(*samples, kParamVersion)) {
        totals.published_version = SumSamples(*samples, kParamVersion);
      }
    }
  }
  return totals;
}

ProgressRow MakeProgressRow(const ClusterTotals& previous, const ClusterTotals& current,
                            absl::Time start, int processes_total, int sequence_length) {
  ProgressRow row;
  row.elapsed_seconds = absl::ToDoubleSeconds(current.when - start);
  const double dt = std::max(1e-3, absl::ToDoubleSeconds(current.when - previous.when));
  row.episodes = current.episodes;
  row.env_steps = current.env_steps;
  // A restarted process resets its counters; never report negative rates.
  row.env_steps_per_second = std::max(0.0, current.env_steps - previous.env_steps) / dt;
  row.learner_steps = current.learner_steps;
  row.learner_steps_per_second =
      std::max(0.0, current.learner_steps_counted - previous.learner_steps_counted) / dt;
  row.replay_items = current.replay_items;
  row.published_version = current.published_version;
  for (const auto& [task, count] : current.return_count) {
    const double previous_count =
        previous.return_count.count(task) ? previous.return_count.at(task) : 0;
    const double previous_sum = previous.return_sum.count(task) ? previous.return_sum.at(task) : 0;
    const double new_episodes = count - previous_count;
    if (new_episodes > 0) {
      const double sum = current.return_sum.count(task) ? current.return_sum.at(task) : 0;
      row.mean_return[task] = (sum - previous_sum) / new_episodes;
    }
  }
  row.losses = current.losses;
  row.eval = current.eval;
  row.diagnostics = current.diagnostics;
  const double new_steps = current.env_steps - previous.env_steps;
  if (new_steps > 0) {
    row.clipped_fraction =
        std::max(0.0, current.clipped_actions - previous.clipped_actions) / new_steps;
  }
  if (current.env_steps > 0) {
    row.replay_ratio = current.learner_samples * sequence_length / current.env_steps;
  }
  if (current.actors_up > 0) {
    row.actors_blocked_fraction = std::clamp(
        (current.actor_blocked_seconds - previous.actor_blocked_seconds) /
            (dt * current.actors_up), 0.0, 1.0);
  }
  row.eval_learner_step = current.eval_learner_step;
  row.processes_up = current.processes_up;
  row.processes_total = processes_total;
  return row;
}

namespace {

std::string ValueOrDash(double v) {
  return std::isfinite(v) ? absl::StrFormat("%.1f", v) : std::string("-");
}

// "TASK 98.0 (random 8.4, scripted 188.0, score 0.50, heading 0.25)".
std::string EvalPart(const std::string& task, const EvalScores& s) {
  std::string part = absl::StrFormat("%s %s (random %s, scripted %s", task,
                                     ValueOrDash(s.learned), ValueOrDash(s.random),
                                     ValueOrDash(s.scripted));
  if (std::isfinite(s.normalized)) absl::StrAppend(&part, absl::StrFormat(", score %.2f", s.normalized));
  if (std::isfinite(s.learned_heading)) {
    absl::StrAppend(&part, absl::StrFormat(", heading %.2f", s.learned_heading));
  }
  return part + ")";
}

// The compact form: "TASK 98.0 score 0.50 heading 0.25"; before the first evaluation of the
// learned policy, the baselines alone: "TASK - (random 8.4, scripted 188.0)".
std::string CompactEvalPart(const std::string& task, const EvalScores& s) {
  if (!std::isfinite(s.normalized)) {
    return absl::StrFormat("%s %s (random %s, scripted %s)", task, ValueOrDash(s.learned),
                           ValueOrDash(s.random), ValueOrDash(s.scripted));
  }
  std::string part =
      absl::StrFormat("%s %s score %.2f", task, ValueOrDash(s.learned), s.normalized);
  if (std::isfinite(s.learned_heading)) {
    absl::StrAppend(&part, absl::StrFormat(" heading %.2f", s.learned_heading));
  }
  return part;
}

std::string EvalPrefix(const ProgressRow& row) {
  return row.eval_learner_step >= 0 ? absl::StrFormat(" | eval@%.0f ", row.eval_learner_step)
                                    : std::string(" | eval ");
}

}  // namespace

std::string FormatProgressLine(const ProgressRow& row) {
  // What answers "is it learning?": throughput, the actors' return and the newest evaluation.
  std::string line = absl::StrFormat(
      "[%6.0fs] up %d/%d | env %.0f steps/s | learner step %.0f (%.2f/s)", row.elapsed_seconds,
      row.processes_up, row.processes_total, row.env_steps_per_second, row.learner_steps,
      row.learner_steps_per_second);
  if (!row.mean_return.empty()) {
    double sum = 0;
    for (const auto& [task, value] : row.mean_return) sum += value;
    absl::StrAppend(&line, absl::StrFormat(" | return %.1f", sum / row.mean_return.size()));
    if (row.mean_return.size() > 1) {
      absl::StrAppend(&line, absl::StrFormat(" (%d tasks)", row.mean_return.size()));
    }
  }
  if (row.eval.size() == 1) {
    const auto& [task, scores] = *row.eval.begin();
    absl::StrAppend(&line, EvalPrefix(row), CompactEvalPart(task, scores));
  } else if (row.eval.size() > 1) {
    // Multi-task: the mean normalised score over the tasks evaluated so far, and the best.
    double sum = 0;
    int scored = 0;
    std::string best_task;
    double best = -std::numeric_limits<double>::infinity();
    for (const auto& [task, scores] : row.eval) {
      if (!std::isfinite(scores.normalized)) continue;
      sum += scores.normalized;
      ++scored;
      if (scores.normalized > best) {
        best = scores.normalized;
        best_task = task;
      }
    }
    absl::StrAppend(&line, EvalPrefix(row));
    if (scored == 0) {
      absl::StrAppend(&line, absl::StrFormat("%d tasks - (baselines only)", row.eval.size()));
    } else {
      absl::StrAppend(&line, absl::StrFormat("score %.2f (%d/%d tasks, best %s %.2f)",
                                             sum / scored, scored, row.eval.size(), best_task,
                                             best));
    }
  }
  return line;
}

std::string FormatVerboseProgressLine(const ProgressRow& row) {
  std::string line = absl::StrFormat(
      "[%6.0fs] up %d/%d | episodes %.0f | env %.0f steps/s | learner step %.0f (%.2f/s) | "
      "replay %.0f items | params v%.0f",
      row.elapsed_seconds, row.processes_up, row.processes_total, row.episodes,
      row.env_steps_per_second, row.learner_steps, row.learner_steps_per_second, row.replay_items,
      row.published_version);
  if (!row.mean_return.empty()) {
    std::vector<std::string> parts;
    for (const auto& [task, value] : row.mean_return) {
      parts.push_back(absl::StrFormat("%s %.1f", task, value));
    }
    absl::StrAppend(&line, " | return ", absl::StrJoin(parts, ", "));
  }
  if (!row.eval.empty()) {
    std::vector<std::string> parts;
    for (const auto& [task, s] : row.eval) parts.push_back(EvalPart(task, s));
    absl::StrAppend(&line, EvalPrefix(row), absl::StrJoin(parts, ", "));
  }
  auto diagnostic = [&row](const char* name) {
    auto it = row.diagnostics.find(name);
    return it == row.diagnostics.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
  };
  if (!row.diagnostics.empty() || std::isfinite(row.clipped_fraction)) {
    absl::StrAppend(
        &line,
        absl::StrFormat(" | policy |mu| %.2f std %.2f beyond-bounds %.0f%% clipped %.0f%% "
                        "replayed-action nll %.3g | "
                        "imagined %.3g V %.3g target %.3g | explained variance r %.2f (open loop %.2f) "
                        "V %.2f | replay ratio %.2f",
                        diagnostic("policy_abs_mean_action"),
                        std::exp(diagnostic("policy_log_std_mean")),
                        100 * diagnostic("policy_mean_outside_bounds"),
                        100 * row.clipped_fraction, diagnostic("behaviour_nll"),
                        diagnostic("imagined_objective"),
                        diagnostic("value_mean"), diagnostic("value_target_mean"),
                        diagnostic("reward_explained_variance"),
                        diagnostic("open_loop_reward_explained_variance"),
                        diagnostic("value_explained_variance"),
                        row.replay_ratio));
  }
  if (std::isfinite(row.actors_blocked_fraction)) {
    absl::StrAppend(&line, absl::StrFormat(" | actors blocked %.0f%%",
                                           100 * row.actors_blocked_fraction));
  }
  if (!row.losses.empty()) {
    std::vector<std::string> parts;
    for (const auto& [term, value] : row.losses) parts.push_back(absl::StrFormat("%s %.4g", term, value));
    absl::StrAppend(&line, " | loss ", absl::StrJoin(parts, ", "));
  }
  return line;
}

ProgressReporter::ProgressReporter(std::vector<MetricsEndpoint> endpoints, std::string run_dir,
                                   std::vector<std::string> task_names, int sequence_length,
                                   ProgressStyle style)
    : endpoints_(std::move(endpoints)),
      run_dir_(std::move(run_dir)),
      start_(absl::Now()),
      task_names_(std::move(task_names)),
      sequence_length_(sequence_length),
      style_(style) {
  previous_.when = start_;
}

ProgressRow ProgressReporter::Report() {
  const ClusterTotals current = ScrapeCluster(endpoints_);
  const ProgressRow row =
      MakeProgressRow(previous_, current, start_, static_cast<int>(endpoints_.size()),
                      sequence_length_);
  previous_ = current;
  std::cout << (style_ == ProgressStyle::kVerbose ? FormatVerboseProgressLine(row)
                                                 : FormatProgressLine(row))
            << std::endl;
  AppendCsv(row);
  DrawLearningCurve();
  return row;
}

void ProgressReporter::AppendCsv(const ProgressRow& row) {
  const std::string path = absl::StrCat(run_dir_, "/metrics.csv");
  // A resumed run appends to the same file; the header is written once.
  const bool new_file = !std::ifstream(path).good();
  std::ofstream csv(path, std::ios::app);
  if (new_file) {
    csv << "elapsed_seconds,episodes,env_steps,env_steps_per_second,learner_steps,"
           "learner_steps_per_second,replay_items,published_version";
    for (const std::string& task : task_names_) csv << ",return_" << task;
    for (const std::string& task : task_names_) csv << ",smoothed_return_" << task;
    csv << "\n";
  }
  csv << absl::StrFormat("%.1f,%.0f,%.0f,%.1f,%.0f,%.3f,%.0f,%.0f", row.elapsed_seconds,
                         row.episodes, row.env_steps, row.env_steps_per_second, row.learner_steps,
                         row.learner_steps_per_second, row.replay_items, row.published_version);
  for (const std::string& task : task_names_) {
    csv << ",";
    if (row.mean_return.count(task)) csv << row.mean_return.at(task);
  }
  for (const std::string& task : task_names_) {
    std::deque<double>& recent = recent_returns_[task];
    if (row.mean_return.count(task)) {
      recent.push_back(row.mean_return.at(task));
      if (static_cast<int>(recent.size()) > kSmoothingWindow) recent.pop_front();
    }
    csv << ",";
    if (!recent.empty()) {
      double sum = 0;
      for (double r : recent) sum += r;
      csv << sum / static_cast<double>(recent.size());
    }
  }
  csv << "\n";
}

void ProgressReporter::DrawLearningCurve() {
  // gnuplot needs a data row with returns to set its axes.
  if (task_names_.empty() || ++reports_ < 3) return;
  // gnuplot (Debian gnuplot-nox) draws the evaluator's and the actors' returns per task.
  LearningCurveInputs inputs;
  inputs.run_dir = run_dir_;
  inputs.task_names = task_names_;
  inputs.baselines =
      ReadEvalBaselines(absl::StrCat(run_dir_, "/eval.csv"), &inputs.has_learned_rows);
  std::string plot = LearningCurveScript(inputs);
  // posix_spawn, not std::system: system() ignores SIGINT in the caller while the child
  // runs, which would swallow a Ctrl-C that arrives while gnuplot draws.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string program = "gnuplot", flag = "-e";
  char* argv[] = {program.data(), flag.data(), plot.data(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (spawned == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (spawned != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    LOG_FIRST_N(WARNING, 1) << "gnuplot could not draw the learning curve (is gnuplot installed?)";
  }
}

}  // namespace ivg::launcher
