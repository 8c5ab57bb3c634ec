#include "services/replay/sequence_batch.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/tensor/tensor_proto_util.h"
#include "services/replay/chunk_codec.h"

namespace ivg::replay {
namespace {

void AppendFloats(const google::protobuf::RepeatedField<float>& values, std::string* out) {
  out->append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

}  // namespace

absl::StatusOr<SequenceBatch> BuildSequenceBatch(const std::vector<const Episode*>& windows,
                                                 const std::vector<uint64_t>& keys,
                                                 const std::vector<double>& probabilities) {
  if (windows.empty()) return absl::InvalidArgumentError("no sequences to batch");
  if (keys.size() != windows.size() || probabilities.size() != windows.size()) {
    return absl::InvalidArgumentError("keys/probabilities do not match the sequences");
  }
  const Episode& first = *windows[0];
  const int64_t B = windows.size();
  const int64_t L = first.steps_size();
  if (L == 0) return absl::InvalidArgumentError("sequence 0 has no steps");
  const int64_t H = first.image_height(), W = first.image_width();
  const int64_t P = first.steps(0).proprio_size();
  const int64_t A = first.steps(0).action_size();
  const int64_t M = first.steps(0).rewards_size();
  const size_t image_bytes = static_cast<size_t>(6 * H * W);

  std::string images, proprio, actions, rewards, log_probs, task_ids;
  images.reserve(B * L * image_bytes);
  proprio.reserve(B * L * P * 4);
  actions.reserve(B * L * A * 4);
  rewards.reserve(B * L * M * 4);
  log_probs.reserve(B * L * 4);
  task_ids.reserve(B * 4);
  for (int64_t b = 0; b < B; ++b) {
    const Episode& e = *windows[b];
    if (e.steps_size() != L || e.image_height() != H || e.image_width() != W) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sequence ", b, " has ", e.steps_size(), " steps of ", e.image_height(), "x",
          e.image_width(), " images; sequence 0 has ", L, " of ", H, "x", W));
    }
    for (const Step& s : e.steps()) {
      if (s.image().size() != image_bytes || s.proprio_size() != P || s.action_size() != A ||
          s.rewards_size() != M) {
        return absl::InvalidArgumentError(
            absl::StrCat("sequence ", b, " has a step whose sizes differ from sequence 0's"));
      }
      images.append(s.image());
      AppendFloats(s.proprio(), &proprio);
      AppendFloats(s.action(), &actions);
      AppendFloats(s.rewards(), &rewards);
      const float lp = s.behaviour_log_prob();
      log_probs.append(reinterpret_cast<const char*>(&lp), sizeof(float));
    }
    const int32_t task = e.task_id();
    task_ids.append(reinterpret_cast<const char*>(&task), sizeof(task));
  }
  SequenceBatch batch;
  batch.set_batch_size(static_cast<int32_t>(B));
  batch.set_sequence_length(static_cast<int32_t>(L));
  *batch.mutable_images() = MakeTensorProto(DTYPE_UINT8, {B, L, 6, H, W}, std::move(images));
  *batch.mutable_proprio() = MakeTensorProto(DTYPE_FLOAT32, {B, L, P}, std::move(proprio));
  *batch.mutable_actions() = MakeTensorProto(DTYPE_FLOAT32, {B, L, A}, std::move(actions));
  *batch.mutable_rewards() = MakeTensorProto(DTYPE_FLOAT32, {B, L, M}, std::move(rewards));
  *batch.mutable_behaviour_log_probs() =
      MakeTensorProto(DTYPE_FLOAT32, {B, L}, std::move(log_probs));
  *batch.mutable_task_ids() = MakeTensorProto(DTYPE_INT32, {B}, std::move(task_ids));
  for (int64_t b = 0; b < B; ++b) {
    batch.add_keys(keys[b]);
    batch.add_probabilities(probabilities[b]);
  }
  return batch;
}

absl::StatusOr<SequenceBatch> DecodeCompressedSequences(
    const google::protobuf::RepeatedPtrField<CompressedSequence>& sequences) {
  std::vector<Episode> decoded;
  decoded.reserve(sequences.size());
  std::vector<const Episode*> windows;
  std::vector<uint64_t> keys;
  std::vector<double> probabilities;
  for (const CompressedSequence& c : sequences) {
    auto episode = DecodeChunk(c.zstd_episode());
    if (!episode.ok()) {
      return absl::DataLossError(
          absl::StrCat("compressed sequence ", c.key(), ": ", episode.status().message()));
    }
    episode->set_task_id(c.task_id());
    decoded.push_back(*std::move(episode));
    keys.push_back(c.key());
    probabilities.push_back(c.probability());
  }
  for (const Episode& e : decoded) windows.push_back(&e);
  return BuildSequenceBatch(windows, keys, probabilities);
}

namespace {

absl::Status AppendTensor(const Tensor& src, Tensor* dst, const char* what) {
  if (src.dtype() != dst->dtype() || src.shape_size() != dst->shape_size()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot append batches: ", what,
                                                   " dtype or rank differ"));
  }
  for (int i = 1; i < src.shape_size(); ++i) {
    if (src.shape(i) != dst->shape(i)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot append batches: ", what, " shapes differ in dimension ", i));
    }
  }
  dst->set_shape(0, dst->shape(0) + src.shape(0));
  dst->mutable_data()->append(src.data());
  return absl::OkStatus();
}

}  // namespace

absl::Status AppendSequenceBatch(SequenceBatch src, SequenceBatch* dst) {
  if (src.batch_size() == 0) return absl::OkStatus();
  if (dst->batch_size() == 0) {
    *dst = std::move(src);
    return absl::OkStatus();
  }
  if (src.sequence_length() != dst->sequence_length()) {
    return absl::InvalidArgumentError("cannot append batches with different sequence lengths");
  }
  if (auto s = AppendTensor(src.images(), dst->mutable_images(), "images"); !s.ok()) return s;
  if (auto s = AppendTensor(src.proprio(), dst->mutable_proprio(), "proprio"); !s.ok()) return s;
  if (auto s = AppendTensor(src.actions(), dst->mutable_actions(), "actions"); !s.ok()) return s;
  if (auto s = AppendTensor(src.rewards(), dst->mutable_rewards(), "rewards"); !s.ok()) return s;
  if (auto s = AppendTensor(src.behaviour_log_probs(), dst->mutable_behaviour_log_probs(),
                            "behaviour_log_probs");
      !s.ok())
    return s;
  if (auto s = AppendTensor(src.task_ids(), dst->mutable_task_ids(), "task_ids"); !s.ok()) return s;
  dst->set_batch_size(dst->batch_size() + src.batch_size());
  for (uint64_t k : src.keys()) dst->add_keys(k);
  for (double p : src.probabilities()) dst->add_probabilities(p);
  return absl::OkStatus();
}

}  // namespace ivg::replay
