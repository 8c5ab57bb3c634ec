#include "services/actor/episode_success.h"

namespace ivg::actor {

double SuccessReturn(const ExperimentConfig& config, Task task) {
  const EvalConfig& e = config.eval();
  const double per_200 = [&] {
    switch (task) {
      case LIFT_RED:
      case LIFT_BLUE:
        return e.lift_success_return();
      case STACK_RED:
      case STACK_BLUE:
        return e.stack_success_return();
      case REACH_RED:
      case REACH_BLUE:
        return e.reach_success_return();
      case MATCH_POSITIONS:
        return e.match_positions_success_return();
      case MOVE_BLUE:
        return e.move_success_return();
      default:
        return 0.0;
    }
  }();
  return per_200 * config.env().episode_steps() / 200.0;
}

}  // namespace ivg::actor
