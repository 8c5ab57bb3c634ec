#include "services/replay/selectors/uniform.h"

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"

namespace ivg::replay {

absl::Status UniformSelector::Insert(uint64_t key, double priority) {
  if (auto s = CheckPriority(priority); !s.ok()) return s;
  if (!index_.emplace(key, keys_.size()).second) {
    return absl::AlreadyExistsError(absl::StrCat("key ", key, " already in the selector"));
  }
  keys_.push_back(key);
  return absl::OkStatus();
}

absl::Status UniformSelector::Delete(uint64_t key) {
  auto it = index_.find(key);
  if (it == index_.end()) return absl::NotFoundError(absl::StrCat("key ", key, " not found"));
  const size_t pos = it->second;
  index_.erase(it);
  if (pos != keys_.size() - 1) {
    keys_[pos] = keys_.back();
    index_[keys_[pos]] = pos;
  }
  keys_.pop_back();
  return absl::OkStatus();
}

absl::Status UniformSelector::Update(uint64_t key, double priority) {
  if (auto s = CheckPriority(priority); !s.ok()) return s;
  if (!index_.contains(key)) return absl::NotFoundError(absl::StrCat("key ", key, " not found"));
  return absl::OkStatus();
}

absl::StatusOr<Selection> UniformSelector::Select(absl::BitGenRef gen) {
  if (keys_.empty()) return absl::FailedPreconditionError("uniform selector is empty");
  const size_t i = absl::Uniform<size_t>(gen, 0, keys_.size());
  return Selection{keys_[i], 1.0 / static_cast<double>(keys_.size())};
}

}  // namespace ivg::replay
