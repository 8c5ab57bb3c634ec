// Reach-R / Reach-B: REACH(O).
#include "services/actor/env/tasks/tasks.h"

namespace ivg::env {

double ReachTaskReward(const ObjectSnapshot& object, const RewardState& state,
                       const RewardConfig& config) {
  return Reach(state.tcp, object.position, config);
}

}  // namespace ivg::env
