// Early-return helpers for absl::Status and absl::StatusOr, in the style of Reverb's and
// TensorFlow's macros. Code inside the project passes Status values; gRPC status exists only
// at service edges (common/grpc/grpc_status.h).
#ifndef IVG_COMMON_STATUS_STATUS_MACROS_H_
#define IVG_COMMON_STATUS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define IVG_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define IVG_STATUS_MACROS_CONCAT_(x, y) IVG_STATUS_MACROS_CONCAT_INNER_(x, y)

// Returns the status from the enclosing function when `expr` is not OK.
#define IVG_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    ::absl::Status ivg_status_ = (expr);           \
    if (!ivg_status_.ok()) return ivg_status_;     \
  } while (false)

// `IVG_ASSIGN_OR_RETURN(auto x, MaybeX());` declares x from the StatusOr's value, or returns
// its error.
#define IVG_ASSIGN_OR_RETURN(lhs, rexpr)                                              \
  IVG_ASSIGN_OR_RETURN_IMPL_(IVG_STATUS_MACROS_CONCAT_(ivg_statusor_, __LINE__), lhs, \
                             rexpr)

#define IVG_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) return statusor.status();          \
  lhs = std::move(statusor).value()

namespace ivg {

// Returns `status` with `context` prepended to its message ("context: message"), keeping the
// code. OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace ivg

#endif  // IVG_COMMON_STATUS_STATUS_MACROS_H_
