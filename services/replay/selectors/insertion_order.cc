#include "services/replay/selectors/insertion_order.h"

#include "absl/strings/str_cat.h"

namespace ivg::replay {

absl::Status InsertionOrderSelector::Insert(uint64_t key, double priority) {
  if (auto s = CheckPriority(priority); !s.ok()) return s;
  if (!keys_.insert(key).second) {
    return absl::AlreadyExistsError(absl::StrCat("key ", key, " already in the selector"));
  }
  return absl::OkStatus();
}

absl::Status InsertionOrderSelector::Delete(uint64_t key) {
  if (keys_.erase(key) == 0) return absl::NotFoundError(absl::StrCat("key ", key, " not found"));
  return absl::OkStatus();
}

absl::Status InsertionOrderSelector::Update(uint64_t key, double priority) {
  if (auto s = CheckPriority(priority); !s.ok()) return s;
  if (!keys_.contains(key)) return absl::NotFoundError(absl::StrCat("key ", key, " not found"));
  return absl::OkStatus();
}

absl::StatusOr<Selection> InsertionOrderSelector::Select(absl::BitGenRef) {
  if (keys_.empty()) return absl::FailedPreconditionError(absl::StrCat(name(), " selector is empty"));
  return Selection{end_ == End::kOldest ? *keys_.begin() : *keys_.rbegin(), 1.0};
}

}  // namespace ivg::replay
