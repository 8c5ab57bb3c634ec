#include "services/replay/chunk_codec.h"

#include <zstd.h>

#include "absl/strings/str_cat.h"

namespace ivg::replay {

absl::StatusOr<std::string> EncodeChunk(const Episode& episode, int begin, int end, int level) {
  if (begin < 0 || end > episode.steps_size() || begin >= end) {
    return absl::InvalidArgumentError(absl::StrCat("chunk range [", begin, ", ", end,
                                                   ") is not within the episode's ",
                                                   episode.steps_size(), " steps"));
  }
  Episode chunk;
  chunk.set_actor_id(episode.actor_id());
  chunk.set_episode_id(episode.episode_id());
  chunk.set_task_id(episode.task_id());
  chunk.set_param_version(episode.param_version());
  chunk.set_image_height(episode.image_height());
  chunk.set_image_width(episode.image_width());
  chunk.set_episode_return(episode.episode_return());
  chunk.mutable_steps()->Reserve(end - begin);
  for (int i = begin; i < end; ++i) *chunk.add_steps() = episode.steps(i);
  const std::string raw = chunk.SerializeAsString();

  std::string out;
  out.resize(ZSTD_compressBound(raw.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) {
    return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
  }
  out.resize(n);
  return out;
}

absl::StatusOr<Episode> DecodeChunk(absl::string_view compressed, int64_t max_decoded_bytes) {
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
  std::string raw;
  raw.resize(size);
  const size_t n = ZSTD_decompress(raw.data(), raw.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != size) {
    return absl::DataLossError(absl::StrCat("chunk decompression failed: ",
                                            ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
  }
  Episode episode;
  if (!episode.ParseFromString(raw)) {
    return absl::DataLossError("chunk does not hold a serialized Episode");
  }
  if (episode.steps_size() == 0) return absl::DataLossError("chunk holds no steps");
  return episode;
}

}  // namespace ivg::replay
