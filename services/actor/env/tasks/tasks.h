// Task rewards (docs/environment.md "Reward terms", Tasks). One file per task family
// (reach_task.cc, lift_task.cc, stack_task.cc, match_positions_task.cc, move_task.cc), each
// composing the pure terms of reward_terms.h over a snapshot of the scene.
#ifndef IVG_SERVICES_ACTOR_ENV_TASKS_TASKS_H_
#define IVG_SERVICES_ACTOR_ENV_TASKS_TASKS_H_

#include <string>

#include "absl/status/status.h"
#include "proto/config.pb.h"
#include "services/actor/env/reward_terms.h"

namespace ivg::env {

// What the reward functions see of the scene after a control step.
struct ObjectSnapshot {
  Vec3 position;
  Vec3 linear_velocity;
  // Centre height when resting on the table.
  double rest_z = 0;
};

struct RewardState {
  Vec3 tcp;
  ObjectSnapshot red;
  ObjectSnapshot blue;
  double cube_side = 0.05;
  bool grasp = false;
  // MATCH_POSITIONS targets in world coordinates (table surface at resting height).
  Vec3 red_target;
  Vec3 blue_target;
};

// OK for every task this environment implements; InvalidArgument naming the task otherwise.
absl::Status ValidateTask(Task task);

// The reward of `task` in `state`. `task` must pass ValidateTask.
double TaskReward(Task task, const RewardState& state, const RewardConfig& config);

// Task families.
double ReachTaskReward(const ObjectSnapshot& object, const RewardState& state,
                       const RewardConfig& config);
double LiftTaskReward(const ObjectSnapshot& object, const RewardState& state,
                      const RewardConfig& config);
double StackTaskReward(const ObjectSnapshot& top, const ObjectSnapshot& base,
                       const RewardState& state, const RewardConfig& config);
double MatchPositionsTaskReward(const RewardState& state, const RewardConfig& config);
double MoveTaskReward(const ObjectSnapshot& object, const RewardConfig& config);

}  // namespace ivg::env

#endif  // IVG_SERVICES_ACTOR_ENV_TASKS_TASKS_H_
