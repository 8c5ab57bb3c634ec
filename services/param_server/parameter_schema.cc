#include "services/param_server/parameter_schema.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ivg::param_server {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status CheckGroup(const NamedTensors& tensors, const ParameterSchema::Group& expected,
                        const std::string& group) {
  for (const NamedTensor& named : tensors.tensors()) {
    auto it = expected.find(named.name());
    if (it == expected.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          group, ": tensor '", named.name(), "' is not a parameter of the configured networks"));
    }
    const Tensor& tensor = named.tensor();
    const std::vector<int64_t> shape(tensor.shape().begin(), tensor.shape().end());
    if (tensor.dtype() != it->second.dtype || shape != it->second.shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          group, ": tensor '", named.name(), "' is ", DType_Name(tensor.dtype()), " ",
          ShapeText(shape), ", the configured networks have ", DType_Name(it->second.dtype), " ",
          ShapeText(it->second.shape), " (does the learner use this cluster's model config?)"));
    }
  }
  // Names are unique (checked before), so equal counts and no unknown name mean all present.
  if (tensors.tensors_size() != static_cast<int>(expected.size())) {
    for (const auto& [name, spec] : expected) {
      bool found = false;
      for (const NamedTensor& named : tensors.tensors()) found = found || named.name() == name;
      if (!found) {
        return absl::InvalidArgumentError(absl::StrCat(
            group, ": tensor '", name, "' of the configured networks is missing (",
            tensors.tensors_size(), " of ", expected.size(), " tensors sent)"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

ParameterSchema::ParameterSchema(Group actor, Group model)
    : actor_(std::move(actor)), model_(std::move(model)) {}

int64_t ParameterSchema::FullPublishBytes() const {
  int64_t bytes = 0;
  for (const Group* group : {&actor_, &model_}) {
    for (const auto& [name, spec] : *group) {
      int64_t elements = 1;
      for (int64_t d : spec.shape) elements *= d;
      // 4 bytes per float32; the name, shape and field tags are a few dozen bytes.
      bytes += 4 * elements + static_cast<int64_t>(name.size()) + 16 + 10 * spec.shape.size();
    }
  }
  return bytes;
}

absl::Status ParameterSchema::Check(const PublishRequest& request) const {
  if (absl::Status s = CheckGroup(request.actor_params(), actor_, "actor_params"); !s.ok()) {
    return s;
  }
  if (request.model_params().tensors_size() == 0) return absl::OkStatus();
  return CheckGroup(request.model_params(), model_, "model_params");
}

}  // namespace ivg::param_server
