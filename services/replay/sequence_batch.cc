#include "services/replay/sequence_batch.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/tensor/tensor_proto_util.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
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

namespace {

using google::protobuf::internal::WireFormatLite;

// Output buffers of a batch being decoded, and the per-step sizes fixed by the first step.
struct BatchBuffers {
  std::string images, proprio, actions, rewards, log_probs;
  int64_t height = -1, width = -1;
  int64_t P = -1, A = -1, M = -1, L = -1;
};

// Appends a repeated float field (packed or not) to `out`; returns the count appended.
bool ReadFloats(google::protobuf::io::CodedInputStream* in, uint32_t tag, std::string* out,
                int64_t* count) {
  if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
    uint32_t len = 0;
    if (!in->ReadVarint32(&len) || len % sizeof(float) != 0) return false;
    const size_t old = out->size();
    out->resize(old + len);
    if (!in->ReadRaw(out->data() + old, static_cast<int>(len))) return false;
    *count += len / sizeof(float);
    return true;
  }
  if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_FIXED32) {
    uint32_t bits = 0;
    if (!in->ReadLittleEndian32(&bits)) return false;
    out->append(reinterpret_cast<const char*>(&bits), sizeof(bits));
    ++*count;
    return true;
  }
  return false;
}

// Parses one serialized Step straight into the batch buffers (no Step object, no per-step
// image copy).
absl::Status ReadStep(google::protobuf::io::CodedInputStream* in, BatchBuffers* b) {
  int64_t p = 0, a = 0, m = 0;
  bool has_image = false, has_log_prob = false;
  const size_t image_bytes = static_cast<size_t>(6 * b->height * b->width);
  while (uint32_t tag = in->ReadTag()) {
    switch (WireFormatLite::GetTagFieldNumber(tag)) {
      case Step::kImageFieldNumber: {
        uint32_t len = 0;
        if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
            !in->ReadVarint32(&len) || len != image_bytes || has_image) {
          return absl::DataLossError(absl::StrCat("step image is not ", image_bytes, " bytes"));
        }
        const size_t old = b->images.size();
        b->images.resize(old + len);
        if (!in->ReadRaw(b->images.data() + old, static_cast<int>(len))) {
          return absl::DataLossError("truncated step image");
        }
        has_image = true;
        break;
      }
      case Step::kProprioFieldNumber:
        if (!ReadFloats(in, tag, &b->proprio, &p)) return absl::DataLossError("bad proprio");
        break;
      case Step::kActionFieldNumber:
        if (!ReadFloats(in, tag, &b->actions, &a)) return absl::DataLossError("bad action");
        break;
      case Step::kRewardsFieldNumber:
        if (!ReadFloats(in, tag, &b->rewards, &m)) return absl::DataLossError("bad rewards");
        break;
      case Step::kBehaviourLogProbFieldNumber: {
        uint32_t bits = 0;
        if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_FIXED32 ||
            !in->ReadLittleEndian32(&bits) || has_log_prob) {
          return absl::DataLossError("bad behaviour_log_prob");
        }
        b->log_probs.append(reinterpret_cast<const char*>(&bits), sizeof(bits));
        has_log_prob = true;
        break;
      }
      default:
        if (!WireFormatLite::SkipField(in, tag)) return absl::DataLossError("bad step field");
    }
  }
  // A state observation's steps have no image (image_bytes 0: proto3 omits empty bytes).
  if (!has_image && image_bytes > 0) return absl::DataLossError("step without image");
  if (!has_log_prob) {  // proto3 omits 0.0.
    const float zero = 0.0f;
    b->log_probs.append(reinterpret_cast<const char*>(&zero), sizeof(zero));
  }
  if (b->P < 0) {
    b->P = p;
    b->A = a;
    b->M = m;
  } else if (p != b->P || a != b->A || m != b->M) {
    return absl::DataLossError(absl::StrCat("step has ", p, "/", a, "/", m,
                                            " proprio/action/rewards values, the first step ",
                                            b->P, "/", b->A, "/", b->M));
  }
  return absl::OkStatus();
}

// Parses one serialized Episode (chunk) into the buffers; returns its number of steps.
absl::StatusOr<int64_t> ReadEpisode(const std::string& raw, BatchBuffers* b) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(raw.data()),
                                            static_cast<int>(raw.size()));
  int64_t steps = 0, height = 0, width = 0;
  while (uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    if ((field == Episode::kImageHeightFieldNumber || field == Episode::kImageWidthFieldNumber) &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v) || v == 0 || v > 4096) return absl::DataLossError("bad image size");
      (field == Episode::kImageHeightFieldNumber ? height : width) = static_cast<int64_t>(v);
      continue;
    }
    if (field == Episode::kStepsFieldNumber &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      // Both sizes come before the steps (fields 5 and 6 before 7); both absent (0) is an
      // episode of state observations, with no images.
      if ((height == 0) != (width == 0)) {
        return absl::DataLossError("chunk lists steps before its image size");
      }
      if (b->height < 0) {
        b->height = height;
        b->width = width;
      } else if (b->height != height || b->width != width) {
        return absl::DataLossError("sequences have different image sizes");
      }
      uint32_t len = 0;
      if (!in.ReadVarint32(&len)) return absl::DataLossError("truncated step");
      const auto limit = in.PushLimit(static_cast<int>(len));
      if (absl::Status s = ReadStep(&in, b); !s.ok()) return s;
      if (!in.ConsumedEntireMessage() || in.BytesUntilLimit() != 0) {
        return absl::DataLossError("malformed step");
      }
      in.PopLimit(limit);
      ++steps;
      continue;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return absl::DataLossError("malformed chunk");
  }
  if (!in.ConsumedEntireMessage()) return absl::DataLossError("malformed chunk");
  if (steps == 0) return absl::DataLossError("chunk holds no steps");
  return steps;
}

}  // namespace

absl::StatusOr<SequenceBatch> DecodeCompressedSequences(
    const google::protobuf::RepeatedPtrField<CompressedSequence>& sequences) {
  if (sequences.empty()) return absl::InvalidArgumentError("no sequences to batch");
  const int64_t B = sequences.size();
  BatchBuffers b;
  std::string task_ids;
  thread_local std::string raw;
  for (int64_t i = 0; i < B; ++i) {
    const CompressedSequence& c = sequences[i];
    absl::Status s = DecompressChunk(c.zstd_episode(), &raw);
    absl::StatusOr<int64_t> steps = s.ok() ? ReadEpisode(raw, &b) : absl::StatusOr<int64_t>(s);
    if (!steps.ok()) {
      return absl::DataLossError(
          absl::StrCat("compressed sequence ", c.key(), ": ", steps.status().message()));
    }
    if (i == 0) {
      b.L = *steps;
      // Everything else has the first sequence's size: reserve once.
      b.images.reserve(b.images.size() * B);
      b.proprio.reserve(b.proprio.size() * B);
      b.actions.reserve(b.actions.size() * B);
      b.rewards.reserve(b.rewards.size() * B);
      b.log_probs.reserve(b.log_probs.size() * B);
    } else if (*steps != b.L) {
      return absl::DataLossError(absl::StrCat("compressed sequence ", c.key(), " has ", *steps,
                                              " steps, sequence 0 has ", b.L));
    }
    const int32_t task = c.task_id();
    task_ids.append(reinterpret_cast<const char*>(&task), sizeof(task));
  }
  SequenceBatch batch;
  batch.set_batch_size(static_cast<int32_t>(B));
  batch.set_sequence_length(static_cast<int32_t>(b.L));
  *batch.mutable_images() =
      MakeTensorProto(DTYPE_UINT8, {B, b.L, 6, b.height, b.width}, std::move(b.images));
  *batch.mutable_proprio() = MakeTensorProto(DTYPE_FLOAT32, {B, b.L, b.P}, std::move(b.proprio));
  *batch.mutable_actions() = MakeTensorProto(DTYPE_FLOAT32, {B, b.L, b.A}, std::move(b.actions));
  *batch.mutable_rewards() = MakeTensorProto(DTYPE_FLOAT32, {B, b.L, b.M}, std::move(b.rewards));
  *batch.mutable_behaviour_log_probs() =
      MakeTensorProto(DTYPE_FLOAT32, {B, b.L}, std::move(b.log_probs));
  *batch.mutable_task_ids() = MakeTensorProto(DTYPE_INT32, {B}, std::move(task_ids));
  for (const CompressedSequence& c : sequences) {
    batch.add_keys(c.key());
    batch.add_probabilities(c.probability());
  }
  return batch;
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
