// SequenceBatch proto (the replay's wire format) -> the learner core's tensors.
#ifndef IVG_SERVICES_LEARNER_BATCH_CONVERSION_H_
#define IVG_SERVICES_LEARNER_BATCH_CONVERSION_H_

#include <vector>

#include "absl/status/statusor.h"
#include "proto/episode.pb.h"
#include "services/learner/core/batch.h"

namespace ivg::learner {

// Decodes every field (checking dtypes and byte lengths), maps proprio to [-1, 1] with the
// fixed per-dimension bounds (identity when both are empty) and widens task ids to int64.
absl::StatusOr<Batch> BatchFromProto(const SequenceBatch& proto,
                                     const std::vector<double>& proprio_low,
                                     const std::vector<double>& proprio_high);

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_BATCH_CONVERSION_H_
