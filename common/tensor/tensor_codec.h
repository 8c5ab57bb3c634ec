// Conversion between ivg.Tensor / ivg.NamedTensors protos and torch::Tensor.
//
// Decoding checks dtype, shape and byte length before touching the bytes, and always copies
// into a tensor that owns its memory (the proto may be freed right after). Encoding writes a
// contiguous CPU copy. Only this file and the learner/actor/policy code include LibTorch.
#ifndef IVG_COMMON_TENSOR_TENSOR_CODEC_H_
#define IVG_COMMON_TENSOR_TENSOR_CODEC_H_

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "proto/tensor.pb.h"

namespace ivg {

using NamedTorchTensors = std::vector<std::pair<std::string, at::Tensor>>;

absl::StatusOr<at::Tensor> TensorFromProto(const Tensor& proto, const std::string& what = "tensor");
absl::Status TensorToProto(const at::Tensor& tensor, Tensor* proto);

// Names must be unique; order is preserved.
absl::StatusOr<NamedTorchTensors> NamedTensorsFromProto(const NamedTensors& proto);
absl::Status NamedTensorsToProto(const NamedTorchTensors& tensors, NamedTensors* proto);

}  // namespace ivg

#endif  // IVG_COMMON_TENSOR_TENSOR_CODEC_H_
