// Match-Positions: red to t1, blue to t2, no shaping towards the objects.
#include "services/actor/env/tasks/tasks.h"

namespace ivg::env {

double MatchPositionsTaskReward(const RewardState& state, const RewardConfig& config) {
  return MatchPositions(state.red.position, state.red_target, state.blue.position,
                        state.blue_target, config);
}

}  // namespace ivg::env
