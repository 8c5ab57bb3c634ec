#include "services/replay/item_index.h"

#include "common/status/status_macros.h"
#include "glog/logging.h"

namespace ivg::replay {

ItemIndex::ItemIndex(std::unique_ptr<Selector> selector, std::unique_ptr<Selector> remover)
    : selector_(std::move(selector)), remover_(std::move(remover)) {
  CHECK(selector_ != nullptr && remover_ != nullptr);
}

bool ItemIndex::AddChunk(uint64_t key, int32_t steps, int64_t bytes) {
  auto [it, inserted] = chunks_.try_emplace(key);
  if (!inserted) return false;
  it->second.steps = steps;
  it->second.bytes = bytes;
  num_steps_ += steps;
  stored_bytes_ += bytes;
  return true;
}

absl::Status ItemIndex::AddItem(IndexedItem item) {
  const uint64_t key = item.record.key;
  IVG_RETURN_IF_ERROR(selector_->Insert(key, item.record.priority));
  if (auto s = remover_->Insert(key, item.record.priority); !s.ok()) {
    selector_->Delete(key).IgnoreError();
    return s;
  }
  for (uint64_t c : item.record.chunk_keys) ++chunks_[c].refs;
  items_.emplace(key, std::move(item));
  return absl::OkStatus();
}

void ItemIndex::RemoveItem(uint64_t key, RemovedItems* removed) {
  auto it = items_.find(key);
  CHECK(it != items_.end()) << "item " << key << " selected but not indexed";
  IndexedItem item = std::move(it->second);
  items_.erase(it);
  selector_->Delete(key).IgnoreError();
  remover_->Delete(key).IgnoreError();
  for (uint64_t c : item.record.chunk_keys) {
    auto cit = chunks_.find(c);
    if (cit == chunks_.end()) continue;
    if (--cit->second.refs <= 0) {
      num_steps_ -= cit->second.steps;
      stored_bytes_ -= cit->second.bytes;
      removed->chunks.emplace_back(c, cit->second);
      chunks_.erase(cit);
    }
  }
  removed->items.push_back(std::move(item));
}

int64_t ItemIndex::Evict(int64_t count, absl::BitGenRef gen, RemovedItems* removed) {
  int64_t evicted = 0;
  for (; evicted < count; ++evicted) {
    absl::StatusOr<Selection> victim = remover_->Select(gen);
    if (!victim.ok()) break;
    RemoveItem(victim->key, removed);
  }
  return evicted;
}

void ItemIndex::Restore(RemovedItems removed) {
  for (const auto& [key, info] : removed.chunks) AddChunk(key, info.steps, info.bytes);
  for (IndexedItem& item : removed.items) AddItem(std::move(item)).IgnoreError();
}

int32_t ItemIndex::CountSample(uint64_t key) {
  auto it = items_.find(key);
  CHECK(it != items_.end()) << "item " << key << " sampled but not indexed";
  return ++it->second.times_sampled;
}

const ItemRecord& ItemIndex::record(uint64_t key) const {
  auto it = items_.find(key);
  CHECK(it != items_.end()) << "item " << key << " selected but not indexed";
  return it->second.record;
}

int32_t ItemIndex::chunk_refs(uint64_t key) const {
  auto it = chunks_.find(key);
  return it == chunks_.end() ? 0 : it->second.refs;
}

}  // namespace ivg::replay
