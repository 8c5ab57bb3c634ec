// Turns sampled L-step windows into a SequenceBatch ([B, L, ...] tensors), on the server
// (uncompressed samples) and in the client library (compressed samples), and concatenates
// batches from several shards. No LibTorch: tensors are ivg.Tensor protos.
#ifndef IVG_SERVICES_REPLAY_SEQUENCE_BATCH_H_
#define IVG_SERVICES_REPLAY_SEQUENCE_BATCH_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "proto/episode.pb.h"
#include "proto/replay.pb.h"

namespace ivg::replay {

// `windows[b]` holds the b-th sequence's steps (all with the same number of steps, image
// size and reward count); its task_id is the sequence's task.
absl::StatusOr<SequenceBatch> BuildSequenceBatch(const std::vector<const Episode*>& windows,
                                                 const std::vector<uint64_t>& keys,
                                                 const std::vector<double>& probabilities);

// Decodes CompressedSequence messages (chunk_codec format) into one batch.
absl::StatusOr<SequenceBatch> DecodeCompressedSequences(
    const google::protobuf::RepeatedPtrField<CompressedSequence>& sequences);

// Appends `src` to `dst` along the batch dimension; shapes other than B must match.
// An empty `dst` (batch_size 0) takes `src` over without copying.
absl::Status AppendSequenceBatch(SequenceBatch src, SequenceBatch* dst);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_SEQUENCE_BATCH_H_
