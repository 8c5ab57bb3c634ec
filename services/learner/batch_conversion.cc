#include "services/learner/batch_conversion.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_codec.h"

namespace ivg::learner {

absl::StatusOr<model::Batch> BatchFromProto(const SequenceBatch& proto,
                                            const model::ProprioBounds& proprio_bounds) {
  model::Batch batch;
  IVG_ASSIGN_OR_RETURN(batch.images, TensorFromProto(proto.images(), "batch.images"));
  IVG_ASSIGN_OR_RETURN(batch.proprio, TensorFromProto(proto.proprio(), "batch.proprio"));
  IVG_ASSIGN_OR_RETURN(batch.actions, TensorFromProto(proto.actions(), "batch.actions"));
  IVG_ASSIGN_OR_RETURN(batch.rewards, TensorFromProto(proto.rewards(), "batch.rewards"));
  IVG_ASSIGN_OR_RETURN(batch.behaviour_log_probs,
                       TensorFromProto(proto.behaviour_log_probs(), "batch.behaviour_log_probs"));
  IVG_ASSIGN_OR_RETURN(at::Tensor task_ids, TensorFromProto(proto.task_ids(), "batch.task_ids"));
  try {
    batch.task_ids = task_ids.to(at::kLong);
    const size_t dims = proprio_bounds.low.size();
    if (dims > 0) {
      if (batch.proprio.dim() != 3 || batch.proprio.size(2) != static_cast<int64_t>(dims)) {
        return absl::InvalidArgumentError(
            absl::StrCat("batch.proprio must be [B, L, ", dims, "] to apply the bounds"));
      }
      batch.proprio = model::ScaleProprio(batch.proprio, proprio_bounds);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("converting a sampled batch: ", e.what()));
  }
  return batch;
}

}  // namespace ivg::learner
