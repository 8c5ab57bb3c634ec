#include "common/tensor/tensor_codec.h"

#include <cstring>
#include <set>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_proto_util.h"

namespace ivg {
namespace {

absl::StatusOr<at::ScalarType> ToScalarType(DType dtype) {
  switch (dtype) {
    case DTYPE_FLOAT32: return at::kFloat;
    case DTYPE_FLOAT64: return at::kDouble;
    case DTYPE_UINT8: return at::kByte;
    case DTYPE_INT32: return at::kInt;
    case DTYPE_INT64: return at::kLong;
    case DTYPE_BOOL: return at::kBool;
    case DTYPE_FLOAT16: return at::kHalf;
    case DTYPE_BFLOAT16: return at::kBFloat16;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown or unspecified tensor dtype ", static_cast<int>(dtype)));
  }
}

absl::StatusOr<DType> FromScalarType(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return DTYPE_FLOAT32;
    case at::kDouble: return DTYPE_FLOAT64;
    case at::kByte: return DTYPE_UINT8;
    case at::kInt: return DTYPE_INT32;
    case at::kLong: return DTYPE_INT64;
    case at::kBool: return DTYPE_BOOL;
    case at::kHalf: return DTYPE_FLOAT16;
    case at::kBFloat16: return DTYPE_BFLOAT16;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("torch dtype ", c10::toString(type), " has no wire encoding"));
  }
}

}  // namespace

absl::StatusOr<at::Tensor> TensorFromProto(const Tensor& proto, const std::string& what) {
  IVG_RETURN_IF_ERROR(ValidateTensorProto(proto, what));
  IVG_ASSIGN_OR_RETURN(at::ScalarType type, ToScalarType(proto.dtype()));
  const std::vector<int64_t> shape(proto.shape().begin(), proto.shape().end());
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(type));
  if (!proto.data().empty()) std::memcpy(tensor.data_ptr(), proto.data().data(), proto.data().size());
  return tensor;
}

absl::Status TensorToProto(const at::Tensor& tensor, Tensor* proto) {
  IVG_ASSIGN_OR_RETURN(DType dtype, FromScalarType(tensor.scalar_type()));
  const at::Tensor contiguous = tensor.detach().to(at::kCPU).contiguous();
  proto->Clear();
  proto->set_dtype(dtype);
  for (int64_t size : contiguous.sizes()) proto->add_shape(size);
  proto->set_data(static_cast<const char*>(contiguous.data_ptr()),
                  contiguous.numel() * contiguous.element_size());
  return absl::OkStatus();
}

absl::StatusOr<NamedTorchTensors> NamedTensorsFromProto(const NamedTensors& proto) {
  NamedTorchTensors result;
  result.reserve(proto.tensors_size());
  std::set<std::string> seen;
  for (const NamedTensor& named : proto.tensors()) {
    if (!seen.insert(named.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor name '", named.name(), "' appears twice"));
    }
    IVG_ASSIGN_OR_RETURN(at::Tensor tensor,
                         TensorFromProto(named.tensor(), absl::StrCat("tensor '", named.name(), "'")));
    result.emplace_back(named.name(), std::move(tensor));
  }
  return result;
}

absl::Status NamedTensorsToProto(const NamedTorchTensors& tensors, NamedTensors* proto) {
  proto->Clear();
  for (const auto& [name, tensor] : tensors) {
    NamedTensor* named = proto->add_tensors();
    named->set_name(name);
    IVG_RETURN_IF_ERROR(
        Annotate(TensorToProto(tensor, named->mutable_tensor()), absl::StrCat("tensor '", name, "'")));
  }
  return absl::OkStatus();
}

}  // namespace ivg
