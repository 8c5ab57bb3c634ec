// The in-memory index of one replay table: its items, the reference counts of the chunks
// they cover, the selector that samples them and the remover that picks items to evict.
// Nothing here touches Redis: removals report which items and chunks left the index so that
// the caller can delete their keys (chunk_store.h), or put them back with Restore() if that
// write fails.
//
// Invariants: every indexed item is in both the selector and the remover; a chunk is
// indexed while at least one indexed item references it (or, briefly, between AddChunk()
// and the AddItem() calls that reference it), and leaves the index with its last item.
// Not thread-safe: the owning Table serialises calls under its mutex.
#ifndef IVG_SERVICES_REPLAY_ITEM_INDEX_H_
#define IVG_SERVICES_REPLAY_ITEM_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/replay/selectors/selector.h"
#include "services/replay/storage_format.h"

namespace ivg::replay {

struct ChunkInfo {
  // Indexed items referencing the chunk.
  int32_t refs = 0;
  int32_t steps = 0;
  int64_t bytes = 0;
};

struct IndexedItem {
  ItemRecord record;
  // Not persisted: restarts at 0 when the index is rebuilt.
  int32_t times_sampled = 0;
};

// What left the index: the items and the chunks whose last reference went with them.
// Enough to delete their keys from Redis, and to put everything back.
struct RemovedItems {
  // In removal order.
  std::vector<IndexedItem> items;
  // (chunk key, its info when it was dropped).
  std::vector<std::pair<uint64_t, ChunkInfo>> chunks;

  bool empty() const { return items.empty() && chunks.empty(); }
};

class ItemIndex {
 public:
  // `selector` samples, `remover` picks eviction victims; both start empty.
  ItemIndex(std::unique_ptr<Selector> selector, std::unique_ptr<Selector> remover);

  // Indexes a stored chunk, with no references yet. False, and nothing changes, if `key`
  // is already indexed.
  bool AddChunk(uint64_t key, int32_t steps, int64_t bytes);

  // Indexes an item and counts a reference on each of its chunks, which must have been
  // added. The selector's or remover's error (duplicate key, bad priority) leaves the index
  // as it was.
  absl::Status AddItem(IndexedItem item);

  // Removes indexed item `key` (CHECK-fails otherwise) and drops every chunk it was the
  // last reference of; both are appended to `removed`.
  void RemoveItem(uint64_t key, RemovedItems* removed);

  // Removes up to `count` items picked by the remover (fewer if the index runs empty);
  // returns how many. A count <= 0 removes nothing.
  int64_t Evict(int64_t count, absl::BitGenRef gen, RemovedItems* removed);

  // Puts back what RemoveItem/Evict removed, for a Redis write that failed: the chunks
  // with no references, then the items (which count their references again).
  void Restore(RemovedItems removed);

  // An item picked by the selector; FAILED_PRECONDITION when the index is empty.
  absl::StatusOr<Selection> Select(absl::BitGenRef gen) { return selector_->Select(gen); }

  // Counts one more sample of indexed item `key` (CHECK-fails otherwise); returns its count.
  int32_t CountSample(uint64_t key);

  bool contains(uint64_t key) const { return items_.contains(key); }
  bool has_chunk(uint64_t key) const { return chunks_.contains(key); }
  // The record of indexed item `key`; CHECK-fails otherwise.
  const ItemRecord& record(uint64_t key) const;
  // References on chunk `key`; 0 when it is not indexed.
  int32_t chunk_refs(uint64_t key) const;

  int64_t num_items() const { return static_cast<int64_t>(items_.size()); }
  int64_t num_chunks() const { return static_cast<int64_t>(chunks_.size()); }
  // Steps and bytes of the indexed chunks.
  int64_t num_steps() const { return num_steps_; }
  int64_t stored_bytes() const { return stored_bytes_; }
  std::string selector_name() const { return selector_->name(); }
  std::string remover_name() const { return remover_->name(); }

 private:
  const std::unique_ptr<Selector> selector_;
  const std::unique_ptr<Selector> remover_;
  absl::flat_hash_map<uint64_t, IndexedItem> items_;
  absl::flat_hash_map<uint64_t, ChunkInfo> chunks_;
  int64_t num_steps_ = 0;
  int64_t stored_bytes_ = 0;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_ITEM_INDEX_H_
