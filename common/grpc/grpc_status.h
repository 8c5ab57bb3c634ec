// The one place that converts between absl::Status (used everywhere inside the project) and
// grpc::Status (used only at service edges). Both use the same canonical codes, so the
// conversion keeps the code exactly, and the message up to kMaxStatusMessageBytes.
#ifndef IVG_COMMON_GRPC_GRPC_STATUS_H_
#define IVG_COMMON_GRPC_GRPC_STATUS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace ivg {

// Longer messages (e.g. quoting a huge field of a hostile request) are cut to this many bytes
// plus a note of their length: gRPC clients refuse status trailers above 8 KB by default.
inline constexpr size_t kMaxStatusMessageBytes = 2048;

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ivg

#endif  // IVG_COMMON_GRPC_GRPC_STATUS_H_
