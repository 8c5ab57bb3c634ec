// The Redis side of one replay table: chunks and item records under the table's key layout
// (storage_format.h), written in MULTI/EXEC transactions, read back for sampling, and
// scanned at start-up to rebuild the in-memory index (item_index.h).
//
// The store holds no state besides the table name and the pool: which keys exist is the
// index's business, so a Table decides what to write and delete, and the store only decides
// how (one transaction, one pipeline, batched reads). Thread-safe: every call takes its own
// connection from the pool.
#ifndef IVG_SERVICES_REPLAY_CHUNK_STORE_H_
#define IVG_SERVICES_REPLAY_CHUNK_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/replay/redis/redis_connection.h"
#include "services/replay/storage_format.h"

namespace ivg::replay {

// Numeric keys of a table's Redis keys to delete; the store names them.
struct StoredKeys {
  std::vector<uint64_t> items;
  std::vector<uint64_t> chunks;

  bool empty() const { return items.empty() && chunks.empty(); }
  size_t size() const { return items.size() + chunks.size(); }
};

// One episode's write: its chunks and items and the evictions it causes, applied together.
struct EpisodeWrite {
  // (chunk key, chunk_codec bytes).
  std::vector<std::pair<uint64_t, std::string>> chunks;
  std::vector<ItemRecord> items;
  StoredKeys deletes;
};

// What the start-up scan found.
struct ScanResult {
  // Decodable item records whose chunks are all present, in key (= insertion) order.
  std::vector<ItemRecord> items;
  // Every chunk of the table holding a non-empty string, with its size in bytes, whether
  // an item references it or not (unreferenced ones are for the caller to delete).
  absl::flat_hash_map<uint64_t, int64_t> chunk_bytes;
  // The largest item or chunk key found, usable or not: new keys must continue after it
  // so that they never collide with a key left in Redis.
  uint64_t max_key = 0;
  // Keys skipped: undecodable or non-string values, items whose chunks are missing,
  // records naming another key, and keys that are not this table's. All left in Redis.
  int64_t corrupt_keys = 0;
};

class ChunkStore {
 public:
  // INVALID_ARGUMENT for a table name that cannot be embedded in keys. `pool` must outlive
  // the store.
  static absl::StatusOr<std::unique_ptr<ChunkStore>> Create(std::string table,
                                                            RedisConnectionPool* pool);

  // SETs the chunks and items and DELs `write.deletes` in one MULTI/EXEC, sent as one
  // pipeline. OK only after Redis replied to EXEC with every command applied; otherwise
  // UNAVAILABLE and nothing was applied.
  absl::Status Write(const EpisodeWrite& write);

  // The bytes of each chunk in `chunk_keys` (one MGET), nullopt for a chunk missing from
  // Redis. UNAVAILABLE when Redis fails.
  absl::StatusOr<std::vector<std::optional<std::string>>> ReadChunks(
      const std::vector<uint64_t>& chunk_keys);

  // DELs `keys` in one MULTI/EXEC.
  absl::Status Delete(const StoredKeys& keys);

  // DELs `keys` in plain commands of at most 1000 keys each, for the start-up clean-up,
  // which may be too large for one transaction. Not atomic: a failure may leave some of
  // them, which the next start-up finds again.
  absl::Status DeleteInBatches(const StoredKeys& keys);

  // SCANs every key of the database and reads this table's chunk sizes and item records.
  // Skipped keys are logged (the first 20) and counted, never deleted.
  absl::StatusOr<ScanResult> Scan();

  const std::string& table() const { return table_; }

 private:
  ChunkStore(std::string table, RedisConnectionPool* pool)
      : table_(std::move(table)), pool_(pool) {}

  // Redis names of `keys`, items first.
  std::vector<std::string> RedisKeys(const StoredKeys& keys) const;

  const std::string table_;
  RedisConnectionPool* const pool_;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_CHUNK_STORE_H_
