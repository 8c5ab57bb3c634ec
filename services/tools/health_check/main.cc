// ivg_health_check: asks a gRPC server's standard health service (proto/health.proto,
// grpc.health.v1.Health/Check) whether it is serving, for container healthchecks.
//
//   ivg_health_check --address=replay-0:50110 [--service=] [--timeout_ms=2000]
//
// Exit status: 0 when the server answers SERVING; 1 when it answers anything else
// (NOT_SERVING while it drains on shutdown, SERVICE_UNKNOWN); 2 when the call fails
// (unreachable, deadline exceeded) or the flags are wrong. Prints one line saying which.
//
// Debian 12 packages no grpc_health_probe, and docker-compose healthchecks cannot use the
// Kubernetes `grpc:` probe, so the runtime image ships this tool (Kubernetes uses its native
// gRPC probe, which asks the same service).
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/grpc/client_context.h"
#include "proto/health.grpc.pb.h"

ABSL_FLAG(std::string, address, "", "host:port of the gRPC server to check.");
ABSL_FLAG(std::string, service, "", "Service name to ask about; empty = the whole server.");
ABSL_FLAG(int, timeout_ms, 2000, "Deadline of the Check call (ms).");

namespace {

constexpr int kServing = 0;
constexpr int kNotServing = 1;
constexpr int kCallFailed = 2;

int Run() {
  const std::string address = absl::GetFlag(FLAGS_address);
  const int timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  if (address.empty()) {
    std::cerr << "ivg_health_check: --address=host:port is required\n";
    return kCallFailed;
  }
  if (timeout_ms <= 0) {
    std::cerr << "ivg_health_check: --timeout_ms must be positive, got " << timeout_ms << "\n";
    return kCallFailed;
  }
  // Health answers are tiny; the default 4 MB limit is plenty.
  auto stub = grpc::health::v1::Health::NewStub(
      ivg::MakeChannel(address, /*max_message_bytes=*/4 * 1024 * 1024));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  grpc::health::v1::HealthCheckResponse response;
  auto context = ivg::MakeClientContext(absl::Milliseconds(timeout_ms));
  const grpc::Status status = stub->Check(context.get(), request, &response);
  if (!status.ok()) {
    std::cout << address << ": health check failed: " << status.error_code() << " "
              << status.error_message() << "\n";
    return kCallFailed;
  }
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  std::cout << address << ": " << name << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kServing
                                                                             : kNotServing;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Exits 0 when the gRPC server at --address reports SERVING on grpc.health.v1.");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
