// Selects by insertion order: FIFO (the oldest key) or LIFO (the newest key). Keys grow with
// insertion order, so the oldest key is the smallest. Deterministic: probability 1.
#ifndef IVG_SERVICES_REPLAY_SELECTORS_INSERTION_ORDER_H_
#define IVG_SERVICES_REPLAY_SELECTORS_INSERTION_ORDER_H_

#include "absl/container/btree_set.h"
#include "services/replay/selectors/selector.h"

namespace ivg::replay {

class InsertionOrderSelector : public Selector {
 public:
  enum class End { kOldest, kNewest };

  // kOldest is FIFO (also the FIFO remover), kNewest is LIFO.
  explicit InsertionOrderSelector(End end) : end_(end) {}

  absl::Status Insert(uint64_t key, double priority) override;
  absl::Status Delete(uint64_t key) override;
  absl::Status Update(uint64_t key, double priority) override;
  absl::StatusOr<Selection> Select(absl::BitGenRef gen) override;
  int64_t size() const override { return static_cast<int64_t>(keys_.size()); }
  std::string name() const override { return end_ == End::kOldest ? "fifo" : "lifo"; }

 private:
  const End end_;
  absl::btree_set<uint64_t> keys_;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_SELECTORS_INSERTION_ORDER_H_
