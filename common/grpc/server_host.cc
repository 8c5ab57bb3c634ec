#include "common/grpc/server_host.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "grpc/grpc.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace ivg {
namespace {

std::string HostOf(const std::string& address) {
  const auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServerHost>> GrpcServerHost::Create(
    GrpcServerOptions options, const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(options.max_receive_bytes > 0 ? options.max_receive_bytes
                                                                  : options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  grpc::ResourceQuota quota("ivg-server");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  // gRPC sets SO_REUSEPORT by default, which lets a second server bind the same port and
  // silently share traffic with the first (two replay shards on one port). Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("could not start a gRPC server on ", options.address,
                     " (address in use or invalid)"));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  return std::unique_ptr<GrpcServerHost>(
      new GrpcServerHost(std::move(options), std::move(server), port));
}

GrpcServerHost::GrpcServerHost(GrpcServerOptions options, std::unique_ptr<grpc::Server> server,
                               int port)
    : options_(std::move(options)), server_(std::move(server)), port_(port) {}

GrpcServerHost::~GrpcServerHost() { Stop(absl::ZeroDuration()); }

std::string GrpcServerHost::address() const {
  return absl::StrCat(HostOf(options_.address), ":", port_);
}

void GrpcServerHost::Stop(absl::Duration deadline) {
  absl::MutexLock lock(&mutex_);
  if (stopped_) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  for (const auto& hook : options_.on_stop) hook();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  server_->Wait();
  stopped_ = true;
}

void GrpcServerHost::Wait() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(&stopped_));
}

}  // namespace ivg
