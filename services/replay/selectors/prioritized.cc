#include "services/replay/selectors/prioritized.h"

#include <cmath>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"

namespace ivg::replay {

void PrioritizedSelector::SetWeight(size_t pos, double weight) {
  size_t node = capacity_ + pos;
  tree_[node] = weight;
  for (node /= 2; node >= 1; node /= 2) tree_[node] = tree_[2 * node] + tree_[2 * node + 1];
}

absl::Status PrioritizedSelector::Insert(uint64_t key, double priority) {
  if (auto s = CheckPriority(priority); !s.ok()) return s;
  if (!index_.emplace(key, keys_.size()).second) {
    return absl::AlreadyExistsError(absl::StrCat("key ", key, " already in the selector"));
  }
  if (keys_.size() == capacity_) {
    // Rebuild at double capacity.
    const size_t new_capacity = capacity_ == 0 ? 16 : capacity_ * 2;
    std::vector<double> tree(2 * new_capacity, 0.0);
    for (size_t i = 0; i < keys_.size(); ++i) tree[new_capacity + i] = tree_[capacity_ + i];
    for (size_t n = new_capacity - 1; n >= 1; --n) tree[n] = tree[2 * n] + tree[2 * n + 1];
    tree_ = std::move(tree);
    capacity_ = new_capacity;
  }
  keys_.push_back(key);
  SetWeight(keys_.size() - 1, std::pow(priority, exponent_));
  return absl::OkStatus();
}

absl::Status PrioritizedSelector::Delete(uint64_t key) {
  auto it = index_.find(key);
  if (it == index_.end()) return absl::NotFoundError(absl::StrCat("key ", key, " not found"));
  const size_t pos = it->second;
  const size_t last = keys_.size() - 1;
  index_.erase(it);
  if (pos != last) {
    keys_[pos] = keys_[last];
    index_[keys_[pos]] = pos;
    SetWeight(pos, tree_[capacity_ + last]);
  }
  SetWeight(last, 0.0);
  keys_.pop_back();
  return absl::OkStatus();
}

absl::Status PrioritizedSelector::Update(uint64_t key, double priority) {
  if (auto s = CheckPriority(priority); !s.ok()) return s;
  auto it = index_.find(key);
  if (it == index_.end()) return absl::NotFoundError(absl::StrCat("key ", key, " not found"));
  SetWeight(it->second, std::pow(priority, exponent_));
  return absl::OkStatus();
}

absl::StatusOr<Selection> PrioritizedSelector::Select(absl::BitGenRef gen) {
  if (keys_.empty()) return absl::FailedPreconditionError("prioritized selector is empty");
  const double total = Total();
  if (!(total > 0)) {
    const size_t i = absl::Uniform<size_t>(gen, 0, keys_.size());
    return Selection{keys_[i], 1.0 / static_cast<double>(keys_.size())};
  }
  double target = absl::Uniform<double>(gen, 0.0, total);
  size_t node = 1;
  while (node < capacity_) {
    const double left = tree_[2 * node];
    if (target < left || tree_[2 * node + 1] <= 0) {
      node = 2 * node;
    } else {
      target -= left;
      node = 2 * node + 1;
    }
  }
  size_t pos = node - capacity_;
  if (pos >= keys_.size()) pos = keys_.size() - 1;  // Rounding at the far right edge.
  return Selection{keys_[pos], tree_[capacity_ + pos] / total};
}

}  // namespace ivg::replay
