// What the task rewards see of the scene after a control step (docs/environment.md, "Reward
// terms"): a snapshot of the TCP and the objects, read by SawyerEnv and handed to the reward of
// each task the episode reports (task_table.h).
#ifndef IVG_ENV_REWARD_STATE_H_
#define IVG_ENV_REWARD_STATE_H_

#include "env/reward_terms.h"

namespace ivg::env {

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

}  // namespace ivg::env

#endif  // IVG_ENV_REWARD_STATE_H_
