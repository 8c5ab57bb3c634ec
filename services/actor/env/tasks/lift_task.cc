// Lift-R / Lift-B: LIFT(O) = REACH(O) + 0.5 (GRASP + HEIGHT(O)).
#include "services/actor/env/tasks/tasks.h"

namespace ivg::env {

double LiftTaskReward(const ObjectSnapshot& object, const RewardState& state,
                      const RewardConfig& config) {
  return Lift(state.tcp, object.position, object.rest_z, state.grasp, config);
}

}  // namespace ivg::env
