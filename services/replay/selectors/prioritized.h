// P(i) = p_i^exponent / sum_j p_j^exponent (prioritized experience replay), with a sum
// tree over a dense array: O(log n) insert, delete, update and select. When every
// priority is zero, selection is uniform.
#ifndef IVG_SERVICES_REPLAY_SELECTORS_PRIORITIZED_H_
#define IVG_SERVICES_REPLAY_SELECTORS_PRIORITIZED_H_

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/replay/selectors/selector.h"

namespace ivg::replay {

class PrioritizedSelector : public Selector {
 public:
  explicit PrioritizedSelector(double exponent) : exponent_(exponent) {}
  absl::Status Insert(uint64_t key, double priority) override;
  absl::Status Delete(uint64_t key) override;
  absl::Status Update(uint64_t key, double priority) override;
  absl::StatusOr<Selection> Select(absl::BitGenRef gen) override;
  int64_t size() const override { return static_cast<int64_t>(keys_.size()); }
  std::string name() const override { return "prioritized"; }

 private:
  // Sets leaf `pos` to `weight` and fixes the sums above it.
  void SetWeight(size_t pos, double weight);
  double Total() const { return tree_.size() > 1 ? tree_[1] : 0.0; }

  const double exponent_;
  std::vector<uint64_t> keys_;
  absl::flat_hash_map<uint64_t, size_t> index_;
  // Complete binary tree in an array: node n has children 2n, 2n+1; leaves start at
  // `capacity_`. Grows by doubling.
  size_t capacity_ = 0;
  std::vector<double> tree_;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_SELECTORS_PRIORITIZED_H_
