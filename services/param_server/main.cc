// ivg_param_server: the versioned parameter store (ParameterService) and the live policy
// (PolicyService) in one process. Flags -> logging -> config -> run until SIGINT/SIGTERM.
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/grpc/server_host.h"
#include "common/logging/logging.h"
#include "common/metrics/metrics_server.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "services/param_server/parameter_service.h"
#include "services/param_server/parameter_store.h"
#include "services/param_server/policy_service.h"

ABSL_FLAG(std::string, config, "", "Experiment config (textproto or JSON); empty = defaults.");
ABSL_FLAG(std::string, address, "",
          "host:port to serve on; empty = cluster.param_server_address. Port 0 picks one.");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:0",
          "host:port of the Prometheus /metrics endpoint (port 0 picks one).");
ABSL_FLAG(std::string, state_dir, "",
          "Where the last published parameters persist; empty = <cluster.run_dir>/param_server.");
ABSL_FLAG(std::string, logdir, "", "Also write logs here (glog files).");
ABSL_FLAG(std::string, port_file, "",
          "If set, write 'grpc_port metrics_port' here once serving (for launchers).");

namespace ivg::param_server {
namespace {

int Run(const std::vector<std::string>& overrides) {
  absl::StatusOr<ExperimentConfig> config =
      LoadExperimentConfig(absl::GetFlag(FLAGS_config), overrides);
  if (!config.ok()) {
    LOG(ERROR) << config.status();
    return 2;
  }
  const ClusterConfig& cluster = config->cluster();
  const std::string state_dir = absl::GetFlag(FLAGS_state_dir).empty()
                                    ? absl::StrCat(cluster.run_dir(), "/param_server")
                                    : absl::GetFlag(FLAGS_state_dir);
  auto store = ParameterStore::Create(state_dir);
  if (!store.ok()) {
    LOG(ERROR) << store.status();
    return 1;
  }
  metrics::MetricRegistry& registry = metrics::DefaultRegistry();
  auto policy = PolicyServiceImpl::Create(*config, &registry);
  if (!policy.ok()) {
    LOG(ERROR) << policy.status();
    return 1;
  }
  if (auto latest = (*store)->Latest()) (*policy)->Load(*latest);
  ParameterServiceImpl parameter_service(
      store->get(), cluster.publish_token(), &registry,
      [policy = policy->get()](std::shared_ptr<const StoredParameters> parameters) {
        policy->Load(*parameters);
      });

  GrpcServerOptions options;
  options.address = absl::GetFlag(FLAGS_address).empty() ? cluster.param_server_address()
                                                         : absl::GetFlag(FLAGS_address);
  options.max_message_bytes = cluster.max_message_bytes();
  auto host = GrpcServerHost::Create(options, {&parameter_service, policy->get()});
  if (!host.ok()) {
    LOG(ERROR) << host.status();
    return 1;
  }
  auto metrics_server = metrics::MetricsServer::Create(absl::GetFlag(FLAGS_metrics_address), &registry);
  if (!metrics_server.ok()) {
    LOG(ERROR) << metrics_server.status();
    return 1;
  }
  LOG(INFO) << "param server serving on " << (*host)->address() << " (profile "
            << config->profile() << "), metrics on :" << (*metrics_server)->port()
            << ", state in " << state_dir << ", stored version " << (*store)->version();
  if (!absl::GetFlag(FLAGS_port_file).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_port_file))
        << (*host)->port() << " " << (*metrics_server)->port() << "\n";
  }
  WaitForShutdown();
  LOG(INFO) << "param server stopping";
  (*host)->Stop(absl::Milliseconds(cluster.shutdown_deadline_ms()));
  return 0;
}

}  // namespace
}  // namespace ivg::param_server

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Serves versioned parameters and the live policy.");
  const std::vector<std::string> overrides = ivg::ExtractConfigOverrides(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  ivg::InitLogging(argv[0], absl::GetFlag(FLAGS_logdir));
  ivg::InstallShutdownSignalHandlers();
  return ivg::param_server::Run(overrides);
}
