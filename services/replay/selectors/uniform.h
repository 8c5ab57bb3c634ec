// Every key equally likely: O(1) insert, delete (swap with the last) and select.
#ifndef IVG_SERVICES_REPLAY_SELECTORS_UNIFORM_H_
#define IVG_SERVICES_REPLAY_SELECTORS_UNIFORM_H_

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/replay/selectors/selector.h"

namespace ivg::replay {

class UniformSelector : public Selector {
 public:
  absl::Status Insert(uint64_t key, double priority) override;
  absl::Status Delete(uint64_t key) override;
  absl::Status Update(uint64_t key, double priority) override;
  absl::StatusOr<Selection> Select(absl::BitGenRef gen) override;
  int64_t size() const override { return static_cast<int64_t>(keys_.size()); }
  std::string name() const override { return "uniform"; }

 private:
  std::vector<uint64_t> keys_;
  absl::flat_hash_map<uint64_t, size_t> index_;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_SELECTORS_UNIFORM_H_
