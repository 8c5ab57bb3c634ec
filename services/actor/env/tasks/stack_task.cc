// Stack-R (red on blue) / Stack-B (blue on red): STACK(O1, O2).
#include "services/actor/env/tasks/tasks.h"

namespace ivg::env {

double StackTaskReward(const ObjectSnapshot& top, const ObjectSnapshot& base,
                       const RewardState& state, const RewardConfig& config) {
  return Stack(state.tcp, top.position, top.rest_z, base.position, state.cube_side, state.grasp,
               config);
}

}  // namespace ivg::env
