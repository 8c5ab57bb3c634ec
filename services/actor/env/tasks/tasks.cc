#include "services/actor/env/tasks/tasks.h"

#include "absl/strings/str_cat.h"

namespace ivg::env {

absl::Status ValidateTask(Task task) {
  switch (task) {
    case REACH_RED:
    case REACH_BLUE:
    case LIFT_RED:
    case LIFT_BLUE:
    case STACK_RED:
    case STACK_BLUE:
    case MATCH_POSITIONS:
    case MOVE_BLUE:
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(absl::StrCat("env task ", Task_Name(task), " (",
                                                     static_cast<int>(task),
                                                     ") is not an implemented task"));
  }
}

double TaskReward(Task task, const RewardState& s, const RewardConfig& config) {
  switch (task) {
    case REACH_RED:
      return ReachTaskReward(s.red, s, config);
    case REACH_BLUE:
      return ReachTaskReward(s.blue, s, config);
    case LIFT_RED:
      return LiftTaskReward(s.red, s, config);
    case LIFT_BLUE:
      return LiftTaskReward(s.blue, s, config);
    case STACK_RED:
      return StackTaskReward(s.red, s.blue, s, config);
    case STACK_BLUE:
      return StackTaskReward(s.blue, s.red, s, config);
    case MATCH_POSITIONS:
      return MatchPositionsTaskReward(s, config);
    case MOVE_BLUE:
      return MoveTaskReward(s.blue, config);
    default:
      return 0.0;
  }
}

}  // namespace ivg::env
