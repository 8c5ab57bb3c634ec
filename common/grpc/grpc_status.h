// The one place that converts between absl::Status (used everywhere inside the project) and
// grpc::Status (used only at service edges). Both use the same canonical codes, so the
// conversion keeps code and message exactly.
#ifndef IVG_COMMON_GRPC_GRPC_STATUS_H_
#define IVG_COMMON_GRPC_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace ivg {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ivg

#endif  // IVG_COMMON_GRPC_GRPC_STATUS_H_
