#include "services/replay/selectors/selector.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace ivg::replay {

absl::Status CheckPriority(double priority) {
  if (!std::isfinite(priority) || priority < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority ", priority, " must be finite and >= 0"));
  }
  return absl::OkStatus();
}

}  // namespace ivg::replay
