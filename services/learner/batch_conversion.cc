#include "services/learner/batch_conversion.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_codec.h"

namespace ivg::learner {

absl::StatusOr<Batch> BatchFromProto(const SequenceBatch& proto,
                                     const std::vector<double>& proprio_low,
                                     const std::vector<double>& proprio_high) {
  Batch batch;
  IVG_ASSIGN_OR_RETURN(batch.images, TensorFromProto(proto.images(), "batch.images"));
  IVG_ASSIGN_OR_RETURN(batch.proprio, TensorFromProto(proto.proprio(), "batch.proprio"));
  IVG_ASSIGN_OR_RETURN(batch.actions, TensorFromProto(proto.actions(), "batch.actions"));
  IVG_ASSIGN_OR_RETURN(batch.rewards, TensorFromProto(proto.rewards(), "batch.rewards"));
  IVG_ASSIGN_OR_RETURN(batch.behaviour_log_probs,
                       TensorFromProto(proto.behaviour_log_probs(), "batch.behaviour_log_probs"));
  IVG_ASSIGN_OR_RETURN(at::Tensor task_ids, TensorFromProto(proto.task_ids(), "batch.task_ids"));
  try {
    batch.task_ids = task_ids.to(at::kLong);
    if (!proprio_low.empty()) {
      if (batch.proprio.dim() != 3 ||
          batch.proprio.size(2) != static_cast<int64_t>(proprio_low.size())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "batch.proprio must be [B, L, ", proprio_low.size(), "] to apply the bounds"));
      }
      at::Tensor low = at::tensor(proprio_low, at::kDouble).to(at::kFloat);
      at::Tensor high = at::tensor(proprio_high, at::kDouble).to(at::kFloat);
      // Values outside the bounds are clipped, exactly as the actors' inference does.
      batch.proprio = (2.0 * (batch.proprio - low) / (high - low) - 1.0).clamp(-1.0, 1.0);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("converting a sampled batch: ", e.what()));
  }
  return batch;
}

}  // namespace ivg::learner
