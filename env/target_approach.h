// How an evaluation episode's TCP approached the object its task rewards being near (the
// task's TaskSpec::target_object, task_table.h).
//
// On Reach-R the final deterministic policies scored 0.10-0.13 normalised, and the return
// alone cannot say why: a policy that steers to where cubes usually are and one that steers at
// the cube in this scene but too slowly or too late score alike. Two numbers tell them apart:
// the cosine between the commanded TCP velocity and the direction to the object (1 = straight
// at it, ~0 = blind to where it is), and whether the TCP ever came within a cube's side of it.
#ifndef IVG_ENV_TARGET_APPROACH_H_
#define IVG_ENV_TARGET_APPROACH_H_

#include <limits>
#include <vector>

#include "env/sawyer_env.h"

namespace ivg::env {

class TargetApproach {
 public:
  // Closer than this the right command is to stay: such steps count for the closest approach
  // but not for the heading. Metres; the reach reward's full-reward radius is 0.02.
  static constexpr double kHeadingMinDistance = 0.03;
  // An episode reached its target when the TCP came this close (the cube's side, where the
  // reach reward is ~0.6 of its maximum).
  static constexpr double kReachedDistance = 0.05;

  // Before a step: the TCP, the target object and the action about to be taken (its first
  // three entries are the TCP velocity command; clipped to [-1, 1] as the environment does).
  void Observe(const env::Vec3& tcp, const env::Vec3& target, const std::vector<float>& action);
  // After the last step: positions only.
  void ObserveFinal(const env::Vec3& tcp, const env::Vec3& target);

  // Mean cosine over the counted steps; NaN without any (the TCP never left the target, or the
  // TCP was never commanded to move).
  double heading_cosine() const;
  // The closest TCP-target distance seen; NaN before any observation.
  double closest_distance() const;

 private:
  double heading_sum_ = 0;
  int heading_steps_ = 0;
  double closest_ = std::numeric_limits<double>::infinity();
};

}  // namespace ivg::env

#endif  // IVG_ENV_TARGET_APPROACH_H_
