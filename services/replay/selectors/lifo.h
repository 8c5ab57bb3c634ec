// The newest key (largest) always. Deterministic: probability 1.
#ifndef IVG_SERVICES_REPLAY_SELECTORS_LIFO_H_
#define IVG_SERVICES_REPLAY_SELECTORS_LIFO_H_

#include "absl/container/btree_set.h"
#include "services/replay/selectors/selector.h"

namespace ivg::replay {

class LifoSelector : public Selector {
 public:
  absl::Status Insert(uint64_t key, double priority) override;
  absl::Status Delete(uint64_t key) override;
  absl::Status Update(uint64_t key, double priority) override;
  absl::StatusOr<Selection> Select(absl::BitGenRef gen) override;
  int64_t size() const override { return static_cast<int64_t>(keys_.size()); }
  std::string name() const override { return "lifo"; }

 private:
  absl::btree_set<uint64_t> keys_;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_SELECTORS_LIFO_H_
