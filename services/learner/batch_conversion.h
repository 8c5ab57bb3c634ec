// SequenceBatch proto (the replay's wire format) -> the learner core's tensors.
#ifndef IVG_SERVICES_LEARNER_BATCH_CONVERSION_H_
#define IVG_SERVICES_LEARNER_BATCH_CONVERSION_H_

#include "absl/status/statusor.h"
#include "model/core/batch.h"
#include "model/core/proprio_scaling.h"
#include "proto/episode.pb.h"

namespace ivg::learner {

// Decodes every field (checking dtypes and byte lengths), maps proprio to [-1, 1] with
// `proprio_bounds` (model::ScaleProprio, as every policy does; identity when empty) and
// widens task ids to int64.
absl::StatusOr<model::Batch> BatchFromProto(const SequenceBatch& proto,
                                            const model::ProprioBounds& proprio_bounds);

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_BATCH_CONVERSION_H_
