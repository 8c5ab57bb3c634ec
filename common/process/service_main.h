// The start-up and shutdown skeleton every service binary shares (ivg_replay_server,
// ivg_param_server, ivg_learner, ivg_actor, ivg_evaluator), so that they read the same flags,
// fail the same way and announce themselves with the same line.
//
// Flags (defined here, so no main declares them again):
//   --config=FILE          experiment config (textproto or JSON); empty = the built-in defaults
//   --set a.b=v            config override, repeatable (see config_loader.h)
//   --logdir=DIR           also write glog files there
//   --address=HOST:PORT    gRPC listen address, only for processes that serve gRPC;
//                          empty = the config's address for this process; port 0 = a free port
//   --metrics_address=HOST:PORT  Prometheus /metrics endpoint; empty = the config's default for
//                          this process; port 0 = a free port
//   --port_file=FILE       once ready, write "GRPC_PORT METRICS_PORT\n" there atomically
//                          (GRPC_PORT is 0 for a process without gRPC), for launchers that
//                          cannot read stdout
//
// Once it serves, a process prints exactly one line on stdout (and in its log):
//   ivg_<name> ready: [grpc=HOST:PORT ]metrics=HOST:PORT[ key=value ...]
// with the bound ports filled in (port 0 resolved); launchers and tests parse it.
//
// Exit codes, the same for every service:
//   0  clean stop: SIGTERM / SIGINT, or the work is done (learner.max_steps reached)
//   1  runtime error: a dependency failed (Redis, a port already bound, a lost peer, ...)
//   2  bad configuration or command line: an unknown or malformed flag, an invalid config
//      field (the message names it, on stderr and in the log)
#ifndef IVG_COMMON_PROCESS_SERVICE_MAIN_H_
#define IVG_COMMON_PROCESS_SERVICE_MAIN_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/metrics/metrics.h"
#include "common/metrics/metrics_server.h"
#include "proto/config.pb.h"

namespace ivg {

inline constexpr int kExitClean = 0;
inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitBadConfig = 2;

// Checks every flag on the command line before absl parses it: absl exits with 1 on an
// unknown flag or an unparsable value, and the convention above wants 2 with the flag
// named. `argv` must no longer hold `--set` overrides. Exposed for tests.
absl::Status CheckCommandLineFlags(int argc, char** argv);

// Splits "host:port" (port 0..65535); the error names `flag`.
absl::StatusOr<std::pair<std::string, int>> ParseHostPort(absl::string_view address,
                                                          absl::string_view flag);

struct ServiceMainOptions {
  // "ivg_replay_server": names the process in the ready line and in error messages.
  std::string name;
  // Shown by --help.
  std::string usage;
  // Whether the process serves gRPC; --address is an error otherwise.
  bool serves_grpc = false;
};

// One process's start-up state. Typical use:
//
//   ServiceMain service = ServiceMain::Init(
//       {/*name=*/"ivg_actor", /*usage=*/"...", /*serves_grpc=*/false}, argc, argv);
//   // (exits 2 on a bad flag or config; logging and signal handlers are installed)
//   if (absl::Status s = service.StartMetrics(default_metrics, &registry); !s.ok())
//     return service.Fail(s, "cannot start the metrics endpoint");
//   ... build the service ...
//   service.Ready({{"actor_id", "3"}});
//   WaitForShutdown();
//   return kExitClean;
class ServiceMain {
 public:
  // Extracts --set overrides, checks and parses flags, initialises logging (--logdir),
  // installs the SIGINT/SIGTERM handlers, then loads and validates the config. On a bad flag
  // or config it prints the problem to stderr and the log and exits with kExitBadConfig.
  static ServiceMain Init(ServiceMainOptions options, int argc, char** argv);

  ServiceMain(ServiceMain&&) = default;
  ServiceMain& operator=(ServiceMain&&) = default;
  ~ServiceMain();

  const ExperimentConfig& config() const { return config_; }
  const std::string& name() const { return options_.name; }

  // --address, or `config_default` when the flag is empty; an InvalidArgument error when
  // the result is not host:port.
  absl::StatusOr<std::string> GrpcAddress(absl::string_view config_default) const;

  // Starts /metrics on --metrics_address, or on `config_default` when the flag is empty.
  // The endpoint lives as long as this object.
  absl::Status StartMetrics(absl::string_view config_default, metrics::MetricRegistry* registry);
  // Stops the endpoint early, for processes whose metrics read state destroyed before this
  // object.
  void StopMetrics() { metrics_server_.reset(); }
  // "host:port" of the running endpoint (port resolved), "" before StartMetrics.
  std::string metrics_address() const;

  // Records the bound gRPC address ("host:port") for the ready line and the port file.
  void SetGrpcAddress(std::string address) { grpc_address_ = std::move(address); }

  // Prints the ready line (see the file comment) on stdout and in the log, then writes
  // --port_file. `fields` follow grpc= and metrics= in order.
  void Ready(const std::vector<std::pair<std::string, std::string>>& fields = {});

  // Logs "<what>: <status>" and prints it on stderr prefixed with the process name; returns
  // kExitRuntimeError, for `return service.Fail(...)` from main.
  int Fail(const absl::Status& status, absl::string_view what) const;
  // The same, returning kExitBadConfig: for flag or config problems only found after Init
  // (a config value that names a missing peer, a flag combination).
  int BadConfig(const absl::Status& status, absl::string_view what) const;

 private:
  ServiceMain(ServiceMainOptions options, ExperimentConfig config);

  ServiceMainOptions options_;
  ExperimentConfig config_;
  std::string grpc_address_;
  std::string metrics_host_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
};

// The ready line without printing it (the format shared with launchers and tests).
std::string FormatReadyLine(absl::string_view name, absl::string_view grpc_address,
                            absl::string_view metrics_address,
                            const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace ivg

#endif  // IVG_COMMON_PROCESS_SERVICE_MAIN_H_
