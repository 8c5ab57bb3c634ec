#include "common/grpc/grpc_status.h"

#include <string>

namespace ivg {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  // The message travels in an HTTP/2 trailer, which clients refuse above 8 KB by default
  // (RESOURCE_EXHAUSTED instead of the real code); messages that quote a hostile request's
  // field could grow that large.
  if (message.size() > kMaxStatusMessageBytes) {
    const size_t full = message.size();
    message.resize(kMaxStatusMessageBytes);
    message += "... (" + std::to_string(full) + " bytes, truncated)";
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::move(message));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace ivg
