// A replay table: items (L-step windows of episodes) stored in Redis as references to
// compressed chunks. The Table orchestrates three parts: the chunk store (chunk_store.h:
// Redis transactions, key layout, the start-up scan), the item index (item_index.h: items,
// chunk reference counts, selector and remover) and the rate limiter, and keeps the metrics.
//
// Storage contract (storage_format.h): each episode's steps are stored once, in chunks of
// `chunk_length` steps; an item references the chunks covering its window. A chunk is
// deleted in the same MULTI/EXEC as its last item. One episode's chunks, items and the
// evictions it causes are one MULTI/EXEC transaction: either all of it is in Redis or none,
// and Insert returns OK only after Redis replied to EXEC.
//
// Concurrency: the index is guarded by mutex_; Redis I/O happens outside it. Evictions
// take effect in the index before the write (so they are not sampled) and are rolled back
// if the write fails. A sampler that selected an item whose chunks were deleted by a
// concurrent eviction re-selects. Thread-safe.
#ifndef IVG_SERVICES_REPLAY_TABLE_H_
#define IVG_SERVICES_REPLAY_TABLE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/episode.pb.h"
#include "proto/replay.pb.h"
#include "services/replay/chunk_store.h"
#include "services/replay/episode_validation.h"
#include "services/replay/item_index.h"
#include "services/replay/rate_limiter.h"
#include "services/replay/redis/redis_connection.h"
#include "services/replay/replay_metrics.h"
#include "services/replay/selectors/selector.h"

namespace ivg::replay {

struct TableOptions {
  std::string name = "sequences";
  // How items are chosen for sampling and for eviction: injected (selectors/), so the table
  // knows no config. Null: uniform, the paper's choice for both.
  std::function<std::unique_ptr<Selector>()> make_sampler;
  std::function<std::unique_ptr<Selector>()> make_remover;
  int64_t max_size = 100000;
  // 0 = unlimited.
  int32_t max_times_sampled = 0;
  // Item length L; stride and chunk length 0 mean L.
  int32_t sequence_length = 8;
  int32_t item_stride = 0;
  int32_t chunk_length = 0;
  int32_t compression_level = 3;
  RateLimiterOptions rate_limiter;
  // What a valid episode looks like (its sequence_length is set from the one above).
  EpisodeSpec episode_spec;
};

struct InsertResult {
  int32_t items_created = 0;
  int32_t steps_stored = 0;
  int32_t items_evicted = 0;
  // Time the insert waited in the rate limiter before it was admitted.
  double rate_limited_seconds = 0;
};

struct SampledSequence {
  uint64_t key = 0;
  double probability = 0;
  int32_t task_id = 0;
  // Filled when sampling compressed: a chunk_codec chunk of exactly the L steps.
  std::string compressed;
  // Filled when sampling uncompressed: the L steps (with the episode's metadata).
  Episode steps;
};

class Table {
 public:
  // Validates options, then rebuilds the index from the keys already in Redis. Keys that
  // cannot be decoded, items whose chunks are missing and foreign keys are logged, counted
  // (corrupt_keys_skipped) and left alone; orphaned chunks of this table are deleted.
  // `pool` and `metrics` (may be null) must outlive the table.
  static absl::StatusOr<std::unique_ptr<Table>> Create(TableOptions options,
                                                       RedisConnectionPool* pool,
                                                       const ReplayMetrics* metrics);

  // Validates, compresses and stores `episode`, waiting up to `deadline` for the rate
  // limiter. INVALID_ARGUMENT for a malformed episode, RESOURCE_EXHAUSTED when it would
  // create more items than max_size, UNAVAILABLE when Redis failed (nothing stored).
  absl::StatusOr<InsertResult> Insert(const Episode& episode, absl::Time deadline);

  // Samples `n` items (with replacement) once the rate limiter allows it.
  absl::StatusOr<std::vector<SampledSequence>> Sample(int n, bool compressed,
                                                      absl::Time deadline);

  // Wakes blocked callers with CANCELLED; later calls fail. For shutdown.
  void Close() { rate_limiter_.Close(); }

  // True when every item is exactly one stored chunk (stride = chunk length = L, the
  // default): compressed samples are then the stored bytes, with no re-encoding.
  bool items_are_whole_chunks() const {
    return stride_ == options_.sequence_length && chunk_length_ == options_.sequence_length;
  }

  TableInfo Info() const;
  int64_t corrupt_keys_skipped() const { return corrupt_keys_skipped_; }
  const TableOptions& options() const { return options_; }
  int64_t size() const;

 private:
  Table(TableOptions options, std::unique_ptr<ChunkStore> store, const ReplayMetrics* metrics);
  absl::Status Rebuild();
  void UpdateGaugesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const TableOptions options_;
  const int32_t stride_;
  const int32_t chunk_length_;
  const std::unique_ptr<ChunkStore> store_;
  const ReplayMetrics* const metrics_;
  RateLimiter rate_limiter_;
  int64_t corrupt_keys_skipped_ = 0;  // Set once by Rebuild.

  mutable absl::Mutex mutex_;
  absl::BitGen gen_ ABSL_GUARDED_BY(mutex_);
  ItemIndex index_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_key_ ABSL_GUARDED_BY(mutex_) = 1;
  // Items of inserts whose Redis write is in flight (counted against max_size).
  int64_t pending_inserts_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t total_inserted_ ABSL_GUARDED_BY(mutex_) = 0;
  // Environment steps of the episodes inserted since this server started (the evaluator
  // reports sample efficiency against their sum over shards).
  int64_t total_inserted_steps_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t total_sampled_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t total_evicted_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_TABLE_H_
