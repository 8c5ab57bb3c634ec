// Redis key layout and the binary item record.
//
// Per table `t` (each shard has its own Redis, so keys carry no shard):
//   ivg:replay:<t>:c:<chunk key>  zstd chunk (chunk_codec.h)
//   ivg:replay:<t>:i:<item key>   ItemRecord (below): which chunks, offset, length
// Keys are decimal uint64s allocated in increasing order, so key order is insertion order
// (FIFO/LIFO selectors and the FIFO remover rely on this; a restart continues after the
// largest key found). Nothing else is stored: the in-memory index (selectors, reference
// counts) is rebuilt from these keys at start-up.
#ifndef IVG_SERVICES_REPLAY_STORAGE_FORMAT_H_
#define IVG_SERVICES_REPLAY_STORAGE_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ivg::replay {

struct ItemRecord {
  uint64_t key = 0;
  int32_t task_id = 0;
  // First step of the item within the first chunk, and its length L.
  int32_t offset = 0;
  int32_t length = 0;
  double priority = 1.0;
  // One or more chunks, in time order, that together cover the item's steps, and the
  // number of steps each chunk holds (same length as chunk_keys).
  std::vector<uint64_t> chunk_keys;
  std::vector<int32_t> chunk_steps;
};

std::string EncodeItemRecord(const ItemRecord& record);
// DATA_LOSS naming what is wrong for anything that is not a valid record.
absl::StatusOr<ItemRecord> DecodeItemRecord(absl::string_view bytes);

std::string ChunkRedisKey(const std::string& table, uint64_t key);
std::string ItemRedisKey(const std::string& table, uint64_t key);
// SCAN patterns.
std::string ChunkKeyPattern(const std::string& table);
std::string ItemKeyPattern(const std::string& table);
// The numeric key of a Redis key under `prefix` ("ivg:replay:<t>:i:"), or nullopt.
std::optional<uint64_t> ParseNumericSuffix(absl::string_view redis_key, absl::string_view prefix);
std::string ChunkKeyPrefix(const std::string& table);
std::string ItemKeyPrefix(const std::string& table);

// Table names are [A-Za-z0-9_-]{1,64} so they can be embedded in keys and metric labels.
bool IsValidTableName(absl::string_view name);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_STORAGE_FORMAT_H_
