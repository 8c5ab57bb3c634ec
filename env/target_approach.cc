#include "env/target_approach.h"

#include <algorithm>
#include <cmath>

#include "env/env_spec.h"

namespace ivg::env {

void TargetApproach::ObserveFinal(const env::Vec3& tcp, const env::Vec3& target) {
  closest_ = std::min(closest_, std::hypot(target[0] - tcp[0], target[1] - tcp[1],
                                           target[2] - tcp[2]));
}

void TargetApproach::Observe(const env::Vec3& tcp, const env::Vec3& target,
                             const std::vector<float>& action) {
  ObserveFinal(tcp, target);
  const double to_target[3] = {target[0] - tcp[0], target[1] - tcp[1], target[2] - tcp[2]};
  const double distance = std::hypot(to_target[0], to_target[1], to_target[2]);
  if (distance < kHeadingMinDistance || action.size() < 3) return;
  double command[3];
  for (int i = 0; i < 3; ++i) {
    command[i] = std::clamp(static_cast<double>(action[env::kActionX + i]), -1.0, 1.0);
  }
  const double speed = std::hypot(command[0], command[1], command[2]);
  // A still (or NaN) command has no direction to score.
  if (!(speed > 1e-9)) return;
  const double dot =
      command[0] * to_target[0] + command[1] * to_target[1] + command[2] * to_target[2];
  heading_sum_ += dot / (speed * distance);
  ++heading_steps_;
}

double TargetApproach::heading_cosine() const {
  return heading_steps_ == 0 ? std::numeric_limits<double>::quiet_NaN()
                             : heading_sum_ / heading_steps_;
}

double TargetApproach::closest_distance() const {
  return std::isinf(closest_) ? std::numeric_limits<double>::quiet_NaN() : closest_;
}

}  // namespace ivg::env
