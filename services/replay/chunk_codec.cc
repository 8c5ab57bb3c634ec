#include "services/replay/chunk_codec.h"

#include <zstd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"

namespace ivg::replay {
namespace {

// zstd contexts are reused per thread: creating one per call costs more than compressing a
// small chunk at low levels.
struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
  return cctx.get();
}

ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  return dctx.get();
}

}  // namespace

absl::StatusOr<std::string> EncodeChunk(const Episode& episode, int begin, int end, int level) {
  if (begin < 0 || end > episode.steps_size() || begin >= end) {
    return absl::InvalidArgumentError(absl::StrCat("chunk range [", begin, ", ", end,
                                                   ") is not within the episode's ",
                                                   episode.steps_size(), " steps"));
  }
  // The serialized chunk is the metadata-only Episode followed by each step as field 7
  // (protobuf concatenates fields), written straight from the caller's steps into one
  // buffer instead of copying them into a temporary Episode first.
  Episode meta;
  meta.set_actor_id(episode.actor_id());
  meta.set_episode_id(episode.episode_id());
  meta.set_task_id(episode.task_id());
  meta.set_param_version(episode.param_version());
  meta.set_image_height(episode.image_height());
  meta.set_image_width(episode.image_width());
  meta.set_episode_return(episode.episode_return());
  const size_t meta_size = meta.ByteSizeLong();
  size_t total = meta_size;
  for (int i = begin; i < end; ++i) {
    const size_t n = episode.steps(i).ByteSizeLong();  // Also caches sizes for the write.
    total += 1 + google::protobuf::io::CodedOutputStream::VarintSize64(n) + n;
  }
  std::string raw(total, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(raw.data());
  p = meta.SerializeWithCachedSizesToArray(p);
  constexpr uint8_t kStepsTag = (Episode::kStepsFieldNumber << 3) | 2;  // length-delimited
  for (int i = begin; i < end; ++i) {
    const Step& step = episode.steps(i);
    *p++ = kStepsTag;
    p = google::protobuf::io::CodedOutputStream::WriteVarint64ToArray(step.GetCachedSize(), p);
    p = step.SerializeWithCachedSizesToArray(p);
  }
  if (p != reinterpret_cast<uint8_t*>(raw.data()) + total) {
    return absl::InternalError("chunk serialization size mismatch");
  }

  std::string out;
  out.resize(ZSTD_compressBound(raw.size()));
  const size_t n =
      ZSTD_compressCCtx(ThreadCCtx(), out.data(), out.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) {
    return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
  }
  out.resize(n);
  return out;
}

absl::Status DecompressChunk(absl::string_view compressed, std::string* raw,
                             int64_t max_decoded_bytes) {
  const unsigned long long size = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) {
    return absl::DataLossError("chunk is not a zstd frame");
  }
  if (size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return absl::DataLossError("chunk's zstd frame does not record its size");
  }
  if (static_cast<int64_t>(size) > max_decoded_bytes) {
    return absl::DataLossError(absl::StrCat("chunk decompresses to ", size,
                                            " bytes, more than the limit ", max_decoded_bytes));
  }
  raw->resize(size);
  const size_t n = ZSTD_decompressDCtx(ThreadDCtx(), raw->data(), raw->size(), compressed.data(),
                                       compressed.size());
  if (ZSTD_isError(n) || n != size) {
    return absl::DataLossError(absl::StrCat("chunk decompression failed: ",
                                            ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Episode> DecodeChunk(absl::string_view compressed, int64_t max_decoded_bytes) {
  std::string raw;
  if (absl::Status s = DecompressChunk(compressed, &raw, max_decoded_bytes); !s.ok()) return s;
  Episode episode;
  if (!episode.ParseFromString(raw)) {
    return absl::DataLossError("chunk does not hold a serialized Episode");
  }
  if (episode.steps_size() == 0) return absl::DataLossError("chunk holds no steps");
  return episode;
}

}  // namespace ivg::replay
