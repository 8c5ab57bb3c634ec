// Move-B: MOVE(blue), rewards moving the object at the target speed.
#include "services/actor/env/tasks/tasks.h"

namespace ivg::env {

double MoveTaskReward(const ObjectSnapshot& object, const RewardConfig& config) {
  return Move(object.linear_velocity, config);
}

}  // namespace ivg::env
