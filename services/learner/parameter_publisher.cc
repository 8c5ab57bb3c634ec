#include "services/learner/parameter_publisher.h"

#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/match.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_codec.h"
#include "model/core/learner_core.h"

namespace ivg::learner {

absl::StatusOr<PublishRequest> MakePublishRequest(const model::LearnerCore& core, int64_t version,
                                                  bool include_model) {
  PublishRequest request;
  request.set_version(version);
  request.set_learner_step(core.step());
  request.set_model_config_fingerprint(model::ModelOptionsFingerprint(core.options().model));
  NamedTorchTensors actor, model;
  try {
    for (auto& [name, tensor] : core.ActorParameters()) {
      actor.emplace_back(name, tensor.detach().to(at::kCPU, at::kFloat).contiguous());
    }
    if (include_model) {
      for (auto& [name, tensor] : core.AllParameters()) {
        if (model::IsActorParameter(name, core.options().loss.policy_algorithm) ||
            absl::StartsWith(name, "target_")) {
          continue;
        }
        model.emplace_back(name, tensor.detach().to(at::kCPU, at::kFloat).contiguous());
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("copying parameters for publishing: ") + e.what());
  }
  IVG_RETURN_IF_ERROR(NamedTensorsToProto(actor, request.mutable_actor_params()));
  if (include_model) {
    IVG_RETURN_IF_ERROR(NamedTensorsToProto(model, request.mutable_model_params()));
  }
  return request;
}

}  // namespace ivg::learner
