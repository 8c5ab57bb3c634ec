// Building and checking ivg.Tensor protos without LibTorch (the replay and other gRPC code
// must not pull LibTorch into their build).
#ifndef IVG_COMMON_TENSOR_TENSOR_PROTO_UTIL_H_
#define IVG_COMMON_TENSOR_TENSOR_PROTO_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/tensor.pb.h"

namespace ivg {

// Bytes per element, or an error naming an unknown or unspecified dtype.
absl::StatusOr<int64_t> DTypeSize(DType dtype);

// "float32", "uint8", ... for error messages.
std::string DTypeName(DType dtype);

// Number of elements of `shape`; an error for negative sizes or overflow.
absl::StatusOr<int64_t> NumElements(const std::vector<int64_t>& shape);

// Checks dtype, shape and that the byte length equals elements * dtype size. `what` names the
// tensor in errors ("tensor 'encoder.conv0.weight'").
absl::Status ValidateTensorProto(const Tensor& tensor, const std::string& what);

// Validate + every element of a float32 or float64 tensor is finite (other dtypes cannot
// hold NaN or Inf as stored here and pass). The error names the first bad element's index.
absl::Status ValidateFiniteTensorProto(const Tensor& tensor, const std::string& what);

// Validate + check the shape equals `expected_shape` (-1 matches any size).
absl::Status ExpectTensorShape(const Tensor& tensor, const std::vector<int64_t>& expected_shape,
                               DType expected_dtype, const std::string& what);

// A tensor proto over a copy of `bytes`.
Tensor MakeTensorProto(DType dtype, const std::vector<int64_t>& shape, std::string bytes);

// "[16, 8, 6, 64, 64]".
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace ivg

#endif  // IVG_COMMON_TENSOR_TENSOR_PROTO_UTIL_H_
