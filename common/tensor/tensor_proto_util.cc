#include "common/tensor/tensor_proto_util.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"

namespace ivg {

absl::StatusOr<int64_t> DTypeSize(DType dtype) {
  switch (dtype) {
    case DTYPE_FLOAT32:
    case DTYPE_INT32:
      return 4;
    case DTYPE_FLOAT64:
    case DTYPE_INT64:
      return 8;
    case DTYPE_UINT8:
    case DTYPE_BOOL:
      return 1;
    case DTYPE_FLOAT16:
    case DTYPE_BFLOAT16:
      return 2;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown or unspecified tensor dtype ", static_cast<int>(dtype)));
  }
}

std::string DTypeName(DType dtype) {
  switch (dtype) {
    case DTYPE_FLOAT32: return "float32";
    case DTYPE_FLOAT64: return "float64";
    case DTYPE_UINT8: return "uint8";
    case DTYPE_INT32: return "int32";
    case DTYPE_INT64: return "int64";
    case DTYPE_BOOL: return "bool";
    case DTYPE_FLOAT16: return "float16";
    case DTYPE_BFLOAT16: return "bfloat16";
    default: return absl::StrCat("dtype(", static_cast<int>(dtype), ")");
  }
}

absl::StatusOr<int64_t> NumElements(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t size : shape) {
    if (size < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ShapeToString(shape), " has a negative dimension"));
    }
    if (size != 0 && count > std::numeric_limits<int64_t>::max() / size) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ShapeToString(shape), " overflows"));
    }
    count *= size;
  }
  return count;
}

absl::Status ValidateTensorProto(const Tensor& tensor, const std::string& what) {
  auto element_size = DTypeSize(tensor.dtype());
  if (!element_size.ok()) return Annotate(element_size.status(), what);
  const std::vector<int64_t> shape(tensor.shape().begin(), tensor.shape().end());
  auto elements = NumElements(shape);
  if (!elements.ok()) return Annotate(elements.status(), what);
  if (*elements > std::numeric_limits<int64_t>::max() / *element_size) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": shape ", ShapeToString(shape), " overflows"));
  }
  const int64_t expected_bytes = *elements * *element_size;
  if (static_cast<int64_t>(tensor.data().size()) != expected_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": ", DTypeName(tensor.dtype()), " tensor of shape ", ShapeToString(shape),
        " needs ", expected_bytes, " bytes, got ", tensor.data().size()));
  }
  return absl::OkStatus();
}

namespace {

template <typename T>
int64_t FirstNonFinite(const std::string& bytes) {
  const int64_t n = static_cast<int64_t>(bytes.size() / sizeof(T));
  for (int64_t i = 0; i < n; ++i) {
    T value;
    std::memcpy(&value, bytes.data() + i * sizeof(T), sizeof(T));
    if (!std::isfinite(value)) return i;
  }
  return -1;
}

}  // namespace

absl::Status ValidateFiniteTensorProto(const Tensor& tensor, const std::string& what) {
  IVG_RETURN_IF_ERROR(ValidateTensorProto(tensor, what));
  int64_t bad = -1;
  if (tensor.dtype() == DTYPE_FLOAT32) bad = FirstNonFinite<float>(tensor.data());
  if (tensor.dtype() == DTYPE_FLOAT64) bad = FirstNonFinite<double>(tensor.data());
  if (bad >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": element ", bad, " is not finite (NaN or Inf)"));
  }
  return absl::OkStatus();
}

absl::Status ExpectTensorShape(const Tensor& tensor, const std::vector<int64_t>& expected_shape,
                               DType expected_dtype, const std::string& what) {
  IVG_RETURN_IF_ERROR(ValidateTensorProto(tensor, what));
  if (tensor.dtype() != expected_dtype) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected dtype ",
                                                   DTypeName(expected_dtype), ", got ",
                                                   DTypeName(tensor.dtype())));
  }
  const std::vector<int64_t> shape(tensor.shape().begin(), tensor.shape().end());
  bool matches = shape.size() == expected_shape.size();
  for (size_t i = 0; matches && i < shape.size(); ++i) {
    matches = expected_shape[i] < 0 || expected_shape[i] == shape[i];
  }
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected shape ",
                                                   ShapeToString(expected_shape), ", got ",
                                                   ShapeToString(shape)));
  }
  return absl::OkStatus();
}

Tensor MakeTensorProto(DType dtype, const std::vector<int64_t>& shape, std::string bytes) {
  Tensor tensor;
  tensor.set_dtype(dtype);
  for (int64_t size : shape) tensor.add_shape(size);
  tensor.set_data(std::move(bytes));
  return tensor;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace ivg
