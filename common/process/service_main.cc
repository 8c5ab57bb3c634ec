#include "common/process/service_main.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/logging/logging.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"

ABSL_FLAG(std::string, config, "", "Experiment config (textproto or JSON); empty = defaults.");
ABSL_FLAG(std::string, logdir, "", "Also write logs to files in this directory.");
ABSL_FLAG(std::string, address, "",
          "host:port of the gRPC server (processes that serve gRPC); empty = the config's "
          "address for this process; port 0 picks a free port.");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port of the Prometheus /metrics endpoint; empty = the config's default for "
          "this process; port 0 picks a free port.");
ABSL_FLAG(std::string, port_file, "",
          "Once ready, write 'GRPC_PORT METRICS_PORT' here (GRPC_PORT 0 without gRPC).");

namespace ivg {
namespace {

// absl's own flags whose values are not plain flag values (file lists, flag names).
bool IsMetaFlag(absl::string_view name) {
  return name == "flagfile" || name == "fromenv" || name == "tryfromenv" || name == "undefok";
}

absl::Status CheckValue(absl::CommandLineFlag& flag, absl::string_view value) {
  if (IsMetaFlag(flag.Name())) return absl::OkStatus();
  // ParseFrom stores the value too; ParseCommandLine stores the same value again after us.
  std::string error;
  if (!flag.ParseFrom(value, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value '", value, "' for --", flag.Name(), ": ", error));
  }
  return absl::OkStatus();
}

void WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string temporary = absl::StrCat(path, ".tmp");
  {
    std::ofstream file(temporary);
    file << content;
    if (!file) {
      LOG(ERROR) << "cannot write " << temporary;
      return;
    }
  }
  // Readers poll for the file: rename makes it appear complete.
  if (std::rename(temporary.c_str(), path.c_str()) != 0) LOG(ERROR) << "cannot write " << path;
}

int PortOf(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon != absl::string_view::npos) (void)absl::SimpleAtoi(address.substr(colon + 1), &port);
  return port;
}

}  // namespace

absl::Status CheckCommandLineFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;  // Everything after it is positional.
    if (!absl::StartsWith(arg, "-") || arg == "-") {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (flags are --name=value)"));
    }
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    const size_t equals = arg.find('=');
    const bool has_value = equals != absl::string_view::npos;
    const absl::string_view name = arg.substr(0, equals);
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) {
      // --nofoo negates a bool --foo.
      absl::CommandLineFlag* negated =
          absl::StartsWith(name, "no") ? absl::FindCommandLineFlag(name.substr(2)) : nullptr;
      if (negated != nullptr && negated->IsOfType<bool>() && !has_value) continue;
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (has_value) {
      if (absl::Status s = CheckValue(*flag, arg.substr(equals + 1)); !s.ok()) return s;
    } else if (!flag->IsOfType<bool>()) {
      // absl takes the next argument as the value of a non-bool flag.
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat("missing value for --", name));
      }
      if (absl::Status s = CheckValue(*flag, argv[++i]); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::string, int>> ParseHostPort(absl::string_view address,
                                                          absl::string_view flag) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " must be host:port with a port in 0..65535 (0 = a free port), got '", address, "'"));
  }
  return std::make_pair(std::string(address.substr(0, colon)), port);
}

std::string FormatReadyLine(absl::string_view name, absl::string_view grpc_address,
                            absl::string_view metrics_address,
                            const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string line = absl::StrCat(name, " ready:");
  if (!grpc_address.empty()) absl::StrAppend(&line, " grpc=", grpc_address);
  absl::StrAppend(&line, " metrics=", metrics_address.empty() ? "none" : metrics_address);
  for (const auto& [key, value] : fields) absl::StrAppend(&line, " ", key, "=", value);
  return line;
}

ServiceMain::ServiceMain(ServiceMainOptions options, ExperimentConfig config)
    : options_(std::move(options)), config_(std::move(config)) {}

ServiceMain::~ServiceMain() = default;

ServiceMain ServiceMain::Init(ServiceMainOptions options, int argc, char** argv) {
  const std::vector<std::string> overrides = ExtractConfigOverrides(&argc, argv);
  if (absl::Status s = CheckCommandLineFlags(argc, argv); !s.ok()) {
    // Logging is not set up yet (--logdir may be the bad flag): stderr only.
    std::cerr << options.name << ": " << s.message() << " (see --help)" << std::endl;
    std::exit(kExitBadConfig);
  }
  if (!options.usage.empty()) absl::SetProgramUsageMessage(options.usage);
  absl::ParseCommandLine(argc, argv);
  InitLogging(argv[0], absl::GetFlag(FLAGS_logdir));
  // Before anything slow: a SIGTERM during start-up must stop the process cleanly.
  InstallShutdownSignalHandlers();

  auto fail = [&](const absl::Status& status, absl::string_view what) {
    LOG(ERROR) << what << ": " << status;
    std::cerr << options.name << ": " << what << ": " << status.message() << std::endl;
    std::exit(kExitBadConfig);
  };
  if (!options.serves_grpc && !absl::GetFlag(FLAGS_address).empty()) {
    fail(absl::InvalidArgumentError(absl::StrCat(options.name, " serves no gRPC")),
         "invalid flag --address");
  }
  for (const auto& [flag, value] :
       {std::pair<const char*, std::string>{"--address", absl::GetFlag(FLAGS_address)},
        {"--metrics_address", absl::GetFlag(FLAGS_metrics_address)}}) {
    if (value.empty()) continue;
    if (auto parsed = ParseHostPort(value, flag); !parsed.ok()) {
      fail(parsed.status(), absl::StrCat("invalid flag ", flag));
    }
  }
  absl::StatusOr<ExperimentConfig> config =
      LoadExperimentConfig(absl::GetFlag(FLAGS_config), overrides);
  if (!config.ok()) fail(config.status(), "invalid config");
  return ServiceMain(std::move(options), *std::move(config));
}

absl::StatusOr<std::string> ServiceMain::GrpcAddress(absl::string_view config_default) const {
  std::string address = absl::GetFlag(FLAGS_address);
  const bool from_flag = !address.empty();
  if (!from_flag) address = std::string(config_default);
  absl::StatusOr<std::pair<std::string, int>> parsed =
      ParseHostPort(address, from_flag ? "--address" : "the configured gRPC address");
  if (!parsed.ok()) return parsed.status();
  return address;
}

absl::Status ServiceMain::StartMetrics(absl::string_view config_default,
                                       metrics::MetricRegistry* registry) {
  std::string address = absl::GetFlag(FLAGS_metrics_address);
  const bool from_flag = !address.empty();
  if (!from_flag) address = std::string(config_default);
  absl::StatusOr<std::pair<std::string, int>> parsed =
      ParseHostPort(address, from_flag ? "--metrics_address" : "the configured metrics address");
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> server =
      metrics::MetricsServer::Create(address, registry);
  if (!server.ok()) return server.status();
  metrics_server_ = *std::move(server);
  metrics_host_ = parsed->first;
  LOG(INFO) << "metrics on http://" << metrics_address() << "/metrics";
  return absl::OkStatus();
}

std::string ServiceMain::metrics_address() const {
  if (metrics_server_ == nullptr) return "";
  return absl::StrCat(metrics_host_, ":", metrics_server_->port());
}

void ServiceMain::Ready(const std::vector<std::pair<std::string, std::string>>& fields) {
  const std::string line = FormatReadyLine(options_.name, grpc_address_, metrics_address(), fields);
  LOG(INFO) << line;
  std::cout << line << std::endl;
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty()) {
    WriteFileAtomically(port_file,
                        absl::StrCat(PortOf(grpc_address_), " ",
                                     metrics_server_ ? metrics_server_->port() : 0, "\n"));
  }
}

int ServiceMain::Fail(const absl::Status& status, absl::string_view what) const {
  LOG(ERROR) << what << ": " << status;
  std::cerr << options_.name << ": " << what << ": " << status << std::endl;
  return kExitRuntimeError;
}

int ServiceMain::BadConfig(const absl::Status& status, absl::string_view what) const {
  LOG(ERROR) << what << ": " << status;
  std::cerr << options_.name << ": " << what << ": " << status << std::endl;
  return kExitBadConfig;
}

}  // namespace ivg
