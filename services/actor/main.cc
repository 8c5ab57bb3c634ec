// ivg_actor: one actor process. Flags -> logging -> config -> act until SIGINT/SIGTERM.
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/config/config_loader.h"
#include "common/logging/logging.h"
#include "common/metrics/metrics_server.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "services/actor/actor.h"

ABSL_FLAG(std::string, config, "", "Experiment config (textproto or JSON); empty = defaults.");
ABSL_FLAG(int, actor_id, 0, "This actor's id: seeds its environment and picks its replay shard.");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:0",
          "host:port of the Prometheus /metrics endpoint (port 0 picks one).");
ABSL_FLAG(std::string, logdir, "", "Also write logs here (glog files).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Runs one IVG actor: environment + policy -> replay.");
  const std::vector<std::string> overrides = ivg::ExtractConfigOverrides(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  ivg::InitLogging(argv[0], absl::GetFlag(FLAGS_logdir));
  ivg::InstallShutdownSignalHandlers();

  absl::StatusOr<ivg::ExperimentConfig> config =
      ivg::LoadExperimentConfig(absl::GetFlag(FLAGS_config), overrides);
  if (!config.ok()) {
    LOG(ERROR) << config.status();
    return 2;
  }
  ivg::metrics::MetricRegistry& registry = ivg::metrics::DefaultRegistry();
  auto metrics_server =
      ivg::metrics::MetricsServer::Create(absl::GetFlag(FLAGS_metrics_address), &registry);
  if (!metrics_server.ok()) {
    LOG(ERROR) << metrics_server.status();
    return 1;
  }
  const int actor_id = absl::GetFlag(FLAGS_actor_id);
  auto actor = ivg::actor::Actor::Create(*config, actor_id, &registry);
  if (!actor.ok()) {
    LOG(ERROR) << "actor " << actor_id << ": " << actor.status();
    return 1;
  }
  LOG(INFO) << "actor " << actor_id << " running (profile " << config->profile()
            << "), metrics on :" << (*metrics_server)->port();
  absl::Status status = (*actor)->Run([] { return ivg::ShutdownRequested(); });
  if (!status.ok()) {
    LOG(ERROR) << "actor " << actor_id << " stopped: " << status;
    return 1;
  }
  LOG(INFO) << "actor " << actor_id << " finished " << (*actor)->episodes_finished()
            << " episodes";
  return 0;
}
