// Stored chunks: a run of consecutive steps of one episode, serialized as an Episode
// (metadata + those steps) and zstd-compressed. The same format is what Sample returns in
// CompressedSequence.zstd_episode, so an item that is exactly one chunk is sent as stored.
#ifndef IVG_SERVICES_REPLAY_CHUNK_CODEC_H_
#define IVG_SERVICES_REPLAY_CHUNK_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/episode.pb.h"

namespace ivg::replay {

// Compresses steps [begin, end) of `episode` with its metadata. Requires
// 0 <= begin < end <= steps_size(). `level` is a zstd level (negative = faster).
absl::StatusOr<std::string> EncodeChunk(const Episode& episode, int begin, int end, int level);

// Decompresses a chunk into `*raw` (a serialized Episode), reusing its capacity.
absl::Status DecompressChunk(absl::string_view compressed, std::string* raw,
                             int64_t max_decoded_bytes = int64_t{1} << 31);

// Decompresses and parses a chunk. INVALID_ARGUMENT / DATA_LOSS naming the problem for
// data that is not a chunk or is larger than `max_decoded_bytes` once decompressed.
absl::StatusOr<Episode> DecodeChunk(absl::string_view compressed,
                                    int64_t max_decoded_bytes = int64_t{1} << 31);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_CHUNK_CODEC_H_
