// ivg_param_server: the versioned parameter store (ParameterService) and the live policy
// (PolicyService) in one process. Runs until SIGINT/SIGTERM.
//
//   ivg_param_server --config=runs/x/config.textproto [--address=HOST:PORT]
//                    [--metrics_address=HOST:PORT] [--state_dir=DIR] [--port_file=FILE]
//
// Start-up, the shared flags, the ready line and the exit codes are
// common/process/service_main.h's. Ready line:
//   ivg_param_server ready: grpc=HOST:PORT metrics=HOST:PORT version=V
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/server_host.h"
#include "common/process/service_main.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "services/param_server/parameter_schema_from_config.h"
#include "services/param_server/parameter_service.h"
#include "services/param_server/parameter_store.h"
#include "services/param_server/policy_service.h"

ABSL_FLAG(std::string, state_dir, "",
          "Where the last published parameters persist; empty = <cluster.run_dir>/param_server.");

namespace ivg::param_server {
namespace {

int Run(ServiceMain& process) {
  const ExperimentConfig& config = process.config();
  const ClusterConfig& cluster = config.cluster();
  const std::string state_dir = absl::GetFlag(FLAGS_state_dir).empty()
                                    ? absl::StrCat(cluster.run_dir(), "/param_server")
                                    : absl::GetFlag(FLAGS_state_dir);
  auto schema = ParameterSchemaFromConfig(config);
  if (!schema.ok()) return process.BadConfig(schema.status(), "cannot build the Publish schema");
  auto store = ParameterStore::Create(state_dir, &*schema);
  if (!store.ok()) {
    // A state dir that cannot be created, or holds another model config's parameters, is a
    // configuration problem: a restart cannot fix it.
    if (absl::IsFailedPrecondition(store.status())) {
      return process.BadConfig(store.status(), "cannot use the parameter state dir");
    }
    return process.Fail(store.status(), "cannot open the parameter store");
  }
  metrics::MetricRegistry& registry = metrics::DefaultRegistry();
  auto policy = PolicyServiceImpl::Create(config, &registry);
  if (!policy.ok()) return process.Fail(policy.status(), "cannot create the policy service");
  if (auto latest = (*store)->Latest()) (*policy)->Load(*latest);
  ParameterServiceImpl parameter_service(
      store->get(), cluster.publish_token(), &registry,
      [policy = policy->get()](std::shared_ptr<const StoredParameters> parameters) {
        policy->Load(*parameters);
      },
      &*schema);

  absl::StatusOr<std::string> address = process.GrpcAddress(cluster.param_server_address());
  if (!address.ok()) return process.BadConfig(address.status(), "invalid gRPC address");
  GrpcServerOptions options;
  options.address = *address;
  options.max_message_bytes = cluster.max_message_bytes();
  // Publish of the configured networks is the largest valid request: refuse anything much
  // larger before parsing it (twice the size for headroom, at least gRPC's 4 MB default).
  options.max_receive_bytes = static_cast<int>(std::clamp<int64_t>(
      2 * schema->FullPublishBytes() + (1 << 20), 4 << 20, cluster.max_message_bytes()));
  auto host = GrpcServerHost::Create(options, {&parameter_service, policy->get()});
  if (!host.ok()) return process.Fail(host.status(), "cannot start the gRPC server");
  if (absl::Status s = process.StartMetrics(absl::StrCat(cluster.host(), ":0"), &registry);
      !s.ok()) {
    return process.Fail(s, "cannot start the metrics server");
  }
  LOG(INFO) << "param server (profile " << config.profile() << "), state in " << state_dir;
  process.SetGrpcAddress((*host)->address());
  process.Ready({{"version", absl::StrCat((*store)->version())}});
  WaitForShutdown();
  LOG(INFO) << "param server stopping";
  (*host)->Stop(absl::Milliseconds(cluster.shutdown_deadline_ms()));
  // Its gauges read the store and the policy, which go before `process`.
  process.StopMetrics();
  return kExitClean;
}

}  // namespace
}  // namespace ivg::param_server

int main(int argc, char** argv) {
  ivg::ServiceMain process = ivg::ServiceMain::Init(
      {/*name=*/"ivg_param_server",
       /*usage=*/"Serves versioned parameters and the live policy.", /*serves_grpc=*/true},
      argc, argv);
  return ivg::param_server::Run(process);
}
