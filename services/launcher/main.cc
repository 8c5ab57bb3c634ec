// ivg_cluster: the local cluster, the main job. Starts replay shards (each with its own
// redis-server), the parameter server, the learners and the actors as separate processes on
// loopback, restarts any that crash, prints a progress line every few seconds, and stops
// everything cleanly on Ctrl-C. Running it again on the same --run_dir resumes the run.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config/config_loader.h"
#include "common/config/derived_values.h"
#include "common/file/owner_only_file.h"
#include "common/logging/logging.h"
#include "common/metrics/http_get.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "services/launcher/cluster_plan.h"
#include "services/launcher/embedded_profiles.h"
#include "services/launcher/process_supervisor.h"
#include "services/launcher/progress_reporter.h"
#include "services/launcher/run_secrets.h"

ABSL_FLAG(std::string, config, "",
          "Experiment config file. Empty: the run dir's saved config when resuming, else the "
          "embedded profile chosen by --profile.");
ABSL_FLAG(std::string, profile, "auto",
          "Embedded defaults when no --config: 'paper' (the paper's sizes; for GPU learners), "
          "'cpu-small' (pixels with smaller networks, whose progress moves within minutes on a "
          "CPU), 'cpu-state' (IVG from state: proprioception and object features, no cameras; "
          "learns Reach-R within minutes on 2 cores), or 'auto' (paper when an NVIDIA GPU is "
          "present, else cpu-state).");
ABSL_FLAG(std::string, run_dir, "", "Run directory; empty = runs/<config name>.");
ABSL_FLAG(std::string, task, "", "Task (e.g. LIFT_RED, STACK_RED); overrides env.task.");
ABSL_FLAG(bool, multitask, false, "Run the paper's multi-task source set (E.1).");
ABSL_FLAG(int, actors, -1, "Number of actors; -1 = actor.num_actors.");
ABSL_FLAG(int, shards, -1, "Replay shards; -1 = cluster.num_replay_shards.");
ABSL_FLAG(int, learners, -1, "Learner processes; -1 = learner.num_learners.");
ABSL_FLAG(double, minutes, 0, "Stop after this many minutes; 0 = run until Ctrl-C.");
ABSL_FLAG(int64_t, learner_steps, 0,
          "Stop after this many learner steps (with the evaluator: once it has evaluated "
          "parameters from at least this step, at most 5 minutes later); 0 = no limit.");
ABSL_FLAG(std::string, transfer_from, "",
          "Run directory to transfer the model from (paper F.6): encoder, transition and "
          "decoder are copied, policy, value and reward start fresh.");
ABSL_FLAG(double, progress_seconds, 5, "Seconds between progress lines.");
ABSL_FLAG(std::string, progress, "compact",
          "Progress line: 'compact' (throughput, return, the newest evaluation; ~160 "
          "characters) or 'verbose' (also episodes, replay items, the policy and value "
          "diagnostics, the replay ratio and every loss term). metrics.csv is the same either way.");
ABSL_FLAG(int, actor_nice, 10,
          "Scheduling niceness of the actors (0-19). With a replay ratio the actors only need "
          "to keep up with the learners, so the learners go first; 0 = every process alike. "
          "The evaluator keeps niceness 0 so that it evaluates on schedule.");
ABSL_FLAG(std::string, bin_dir, "",
          "Where the service binaries are; empty = the build tree this launcher is in.");
ABSL_FLAG(bool, fixed_ports, false,
          "Use the configured ports (cluster.*_port); default: free loopback ports.");
ABSL_FLAG(std::string, logdir, "", "Also write the launcher's own log here.");
ABSL_FLAG(bool, dry_run, false,
          "Print every process's command line (one per line: name, then argv) and exit "
          "without starting anything. docker-compose and Kubernetes files are checked "
          "against this.");

namespace ivg::launcher {
namespace {

std::string DefaultBinaryDir() {
  // <build>/services/launcher/ivg_cluster -> <build>
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "build";
  return self.parent_path().parent_path().parent_path().string();
}

bool HasNvidiaGpu() { return access("/dev/nvidia0", F_OK) == 0; }

absl::StatusOr<ExperimentConfig> ResolveConfig(const std::vector<std::string>& flag_overrides,
                                               std::string* run_dir) {
  std::string path = absl::GetFlag(FLAGS_config);
  std::vector<std::string> overrides;
  std::string base_text;
  if (path.empty() && !run_dir->empty() &&
      std::filesystem::exists(absl::StrCat(*run_dir, "/config.textproto"))) {
    path = absl::StrCat(*run_dir, "/config.textproto");
    LOG(INFO) << "resuming with the run's saved config " << path;
  }
  ExperimentConfig config;
  if (path.empty()) {
    std::string profile = absl::GetFlag(FLAGS_profile);
    // Without a GPU the default is the profile that shows learning within minutes on a few
    // cores (IVG from state on Reach-R); the pixel agent is --profile=cpu-small.
    if (profile == "auto") profile = HasNvidiaGpu() ? "paper" : "cpu-state";
    if (profile == "cpu-small") {
      base_text = kCpuSmallProfile;
    } else if (profile == "cpu-state") {
      base_text = kCpuStateProfile;
    } else if (profile != "paper") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--profile='", profile, "': expected auto, paper, cpu-small or cpu-state"));
    }
    absl::Status parsed = ParseConfigText(base_text, /*is_json=*/false,
                                          absl::StrCat("embedded profile '", profile, "'"), &config);
    if (!parsed.ok()) return parsed;
  } else {
    absl::Status parsed = ParseConfigFile(path, &config);
    if (!parsed.ok()) return parsed;
  }
  if (!absl::GetFlag(FLAGS_task).empty()) overrides.push_back(absl::StrCat("env.task=", absl::GetFlag(FLAGS_task)));
  if (absl::GetFlag(FLAGS_multitask)) {
    overrides.push_back("env.multitask_tasks=[REACH_RED, REACH_BLUE, LIFT_BLUE, STACK_BLUE, MOVE_BLUE]");
  }
  if (absl::GetFlag(FLAGS_actors) >= 0) overrides.push_back(absl::StrCat("actor.num_actors=", absl::GetFlag(FLAGS_actors)));
  if (absl::GetFlag(FLAGS_shards) >= 0) overrides.push_back(absl::StrCat("cluster.num_replay_shards=", absl::GetFlag(FLAGS_shards)));
  if (absl::GetFlag(FLAGS_learners) >= 0) overrides.push_back(absl::StrCat("learner.num_learners=", absl::GetFlag(FLAGS_learners)));
  if (!absl::GetFlag(FLAGS_transfer_from).empty()) {
    overrides.push_back(absl::StrCat("learner.transfer_from_checkpoint=", absl::GetFlag(FLAGS_transfer_from), "/checkpoint_rank0.pt"));
  }
  overrides.insert(overrides.end(), flag_overrides.begin(), flag_overrides.end());
  for (const std::string& assignment : overrides) {
    absl::Status status = ApplyOverride(assignment, &config);
    if (!status.ok()) return status;
  }
  if (run_dir->empty()) *run_dir = absl::StrCat("runs/", config.name());
  config.mutable_cluster()->set_run_dir(*run_dir);
  absl::Status valid = ValidateExperimentConfig(
      config, path.empty() ? "embedded profile" : absl::StrCat("config file '", path, "'"));
  if (!valid.ok()) return valid;
  return config;
}

std::vector<std::string> TaskNames(const ExperimentConfig& config) {
  std::vector<std::string> names;
  for (Task task : Tasks(config)) names.push_back(Task_Name(task));
  return names;
}

// Waits until every endpoint of `role` answers /metrics (its process is up and serving).
void AwaitRole(const ClusterPlan& plan, const std::string& role, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (const MetricsEndpoint& endpoint : plan.metrics) {
    if (endpoint.role != role) continue;
    while (absl::Now() < deadline && !ShutdownRequested()) {
      auto response = metrics::HttpGet("127.0.0.1", endpoint.port, "/metrics", absl::Seconds(1));
      if (response.ok() && response->status_code == 200) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
}

int Run(const std::vector<std::string>& flag_overrides) {
  const std::string progress = absl::GetFlag(FLAGS_progress);
  if (progress != "compact" && progress != "verbose") {
    LOG(ERROR) << "--progress=" << progress << " is not one of: compact, verbose";
    return 2;
  }
  const ProgressStyle progress_style =
      progress == "verbose" ? ProgressStyle::kVerbose : ProgressStyle::kCompact;
  std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  absl::StatusOr<ExperimentConfig> config = ResolveConfig(flag_overrides, &run_dir);
  if (!config.ok()) {
    LOG(ERROR) << config.status();
    return 2;
  }
  if (absl::Status secrets = AssignRunSecrets(&*config); !secrets.ok()) {
    LOG(ERROR) << secrets;
    return 1;
  }
  std::filesystem::create_directories(absl::StrCat(run_dir, "/logs"));
  LaunchOptions options;
  options.binary_dir = absl::GetFlag(FLAGS_bin_dir).empty() ? DefaultBinaryDir() : absl::GetFlag(FLAGS_bin_dir);
  options.run_dir = run_dir;
  options.config_path = absl::StrCat(run_dir, "/config.textproto");
  options.actor_nice = absl::GetFlag(FLAGS_actor_nice);
  absl::StatusOr<ClusterPlan> plan = PlanCluster(*config, options, !absl::GetFlag(FLAGS_fixed_ports));
  if (!plan.ok()) {
    LOG(ERROR) << plan.status();
    return 1;
  }
  if (absl::GetFlag(FLAGS_dry_run)) {
    for (const ProcessSpec& spec : plan->processes) {
      std::cout << spec.name << " " << absl::StrJoin(spec.argv, " ") << "\n";
    }
    return 0;
  }
  // Owner-only: it holds the run's publish token and Redis password.
  if (absl::Status written = WriteOwnerOnlyFile(
          options.config_path,
          absl::StrCat("# Written by ivg_cluster: the config every process of this run reads.\n",
                       ConfigToText(plan->config)));
      !written.ok()) {
    LOG(ERROR) << written;
    return 1;
  }
  if (absl::Status written = WritePrometheusTargets(*plan, absl::StrCat(run_dir, "/prometheus_targets.json"));
      !written.ok()) {
    LOG(WARNING) << written;
  }
  std::cout << "ivg_cluster: run '" << plan->config.name() << "', profile '" << plan->config.profile()
            << "', tasks " << absl::StrJoin(TaskNames(plan->config), ",") << "\n"
            << "  " << plan->config.cluster().num_replay_shards() << " replay shards, 1 parameter server, "
            << plan->config.learner().num_learners() << " learners ("
            << plan->config.learner().torch_threads() << " threads each), "
            << plan->config.actor().num_actors() << " actors"
            << (plan->config.eval().enabled() ? ", the evaluator" : "") << "\n  policy "
            << PolicyAlgorithm_Name(plan->config.learner().policy_algorithm())
            << ", imagination horizon " << plan->config.learner().imagination_horizon()
            << "\n  replay ratio "
            << (plan->config.replay().replay_ratio() > 0
                    ? absl::StrCat(plan->config.replay().replay_ratio(),
                                   " sampled steps per inserted step (actors wait beyond it)")
                    : std::string("not limited (replay.replay_ratio = 0)"))
            << "\n  run dir " << run_dir
            << " (config.textproto, logs/, checkpoint_rank*.pt, metrics.csv, eval.csv, "
            << "learning_curve.png, videos/, reconstructions/)\n  Ctrl-C stops everything."
            << std::endl;

  ProcessSupervisor supervisor(absl::StrCat(run_dir, "/logs"));
  // Servers first, so clients find them; each stage waits for the previous one to serve.
  const std::vector<std::string> stage_roles = {"replay", "param_server", "learner", "actor"};
  for (int stage = 0; stage < static_cast<int>(stage_roles.size()) && !ShutdownRequested(); ++stage) {
    for (const ProcessSpec& spec : plan->processes) {
      if (spec.stage != stage) continue;
      if (absl::Status status = supervisor.Start(spec); !status.ok()) {
        LOG(ERROR) << status;
        supervisor.StopAll(absl::Seconds(10));
        return 1;
      }
    }
    if (stage < 2) AwaitRole(*plan, stage_roles[stage], absl::Seconds(60));
  }

  ProgressReporter reporter(plan->metrics, run_dir, TaskNames(plan->config),
                            SequenceLength(plan->config), progress_style);
  const absl::Time start = absl::Now();
  const absl::Duration progress_every = absl::Seconds(absl::GetFlag(FLAGS_progress_seconds));
  const double minutes = absl::GetFlag(FLAGS_minutes);
  const int64_t step_limit = absl::GetFlag(FLAGS_learner_steps);
  absl::Time next_report = start + progress_every;
  // With the evaluator, a step budget ends with an evaluation of parameters from at least
  // that step (an evaluation takes many learner steps, so the last one before the budget
  // would otherwise be of much older parameters); the learners train on meanwhile.
  const bool await_final_eval = plan->config.eval().enabled();
  const absl::Duration final_eval_patience = absl::Minutes(5);
  std::optional<absl::Time> final_eval_deadline;
  int exit_code = 0;
  while (!ShutdownRequested()) {
    WaitForShutdown(absl::Milliseconds(200));
    supervisor.Poll();
    if (absl::Now() >= next_report) {
      next_report += progress_every;
      const ProgressRow row = reporter.Report();
      if (step_limit > 0 && row.learner_steps >= step_limit) {
        if (!await_final_eval || row.eval_learner_step >= step_limit) {
          std::cout << "ivg_cluster: reached " << step_limit << " learner steps"
                    << (await_final_eval ? " and evaluated them" : "") << std::endl;
          break;
        }
        if (!final_eval_deadline.has_value()) {
          final_eval_deadline = absl::Now() + final_eval_patience;
          std::cout << "ivg_cluster: reached " << step_limit
                    << " learner steps; waiting for the evaluator to evaluate them" << std::endl;
        } else if (absl::Now() >= *final_eval_deadline) {
          std::cout << "ivg_cluster: no evaluation of step >= " << step_limit << " within "
                    << absl::FormatDuration(final_eval_patience) << "; stopping" << std::endl;
          break;
        }
      }
    }
    if (minutes > 0 && absl::Now() - start >= absl::Minutes(minutes)) {
      std::cout << "ivg_cluster: ran " << minutes << " minutes" << std::endl;
      break;
    }
  }
  std::cout << "ivg_cluster: stopping all processes" << std::endl;
  supervisor.StopAll(absl::Milliseconds(plan->config.cluster().shutdown_deadline_ms() + 10000));
  for (const ProcessStatus& status : supervisor.Statuses()) {
    if (status.starts > 1) {
      std::cout << "  " << status.name << " was restarted " << status.starts - 1 << " time(s)\n";
    }
  }
  std::cout << "ivg_cluster: stopped; run dir " << run_dir << std::endl;
  return exit_code;
}

}  // namespace
}  // namespace ivg::launcher

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs the IVG local cluster: replay shards with Redis, parameter server, learners, actors.");
  const std::vector<std::string> overrides = ivg::ExtractConfigOverrides(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  ivg::InitLogging(argv[0], absl::GetFlag(FLAGS_logdir));
  ivg::InstallShutdownSignalHandlers();
  return ivg::launcher::Run(overrides);
}
