#include "services/learner/replay_sequence_source.h"

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace ivg::learner {

absl::StatusOr<SequenceBatch> ReplaySequenceSource::Sample(int batch_size) {
  IVG_ASSIGN_OR_RETURN(SequenceBatch batch,
                       client_->Sample(batch_size, table_, /*compressed=*/true));
  if (batch.sequence_length() != sequence_length_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the replay serves sequences of ", batch.sequence_length(),
        " steps; the learner needs burn_in + model_rollout = ", sequence_length_));
  }
  return batch;
}

}  // namespace ivg::learner
