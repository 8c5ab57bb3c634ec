// Scripted controllers that solve Lift and Stack from the simulator state (not from
// pixels): they demonstrate the tasks are solvable with this gripper and controller, feed
// the viewer, and serve as acceptance tests of the physics.
#ifndef IVG_SERVICES_ACTOR_ENV_SCRIPTED_POLICIES_H_
#define IVG_SERVICES_ACTOR_ENV_SCRIPTED_POLICIES_H_

#include <array>
#include <memory>

#include "services/actor/env/env_spec.h"
#include "services/actor/env/sawyer_env.h"

namespace ivg::env {

using Action = std::array<float, kActionSize>;

// Reach above the object, descend, close, lift. Call Reset() at each episode start.
class ScriptedLiftPolicy {
 public:
  explicit ScriptedLiftPolicy(ObjectId object, double lift_height = 0.15)
      : object_(object), lift_height_(lift_height) {}
  void Reset() {
    phase_ = Phase::kApproach;
    phase_steps_ = 0;
  }
  Action Act(const SawyerEnv& env);

 private:
  enum class Phase { kApproach, kDescend, kClose, kLift };
  const ObjectId object_;
  const double lift_height_;
  Phase phase_ = Phase::kApproach;
  int phase_steps_ = 0;
};

// Lift `top` a little higher than a cube, carry it above `base`, lower it onto `base`,
// release, and keep the fingers around it.
class ScriptedStackPolicy {
 public:
  ScriptedStackPolicy(ObjectId top, ObjectId base) : top_(top), base_(base), lift_(top, 0.10) {}
  void Reset() {
    lift_.Reset();
    phase_ = Phase::kGrasp;
    phase_steps_ = 0;
  }
  Action Act(const SawyerEnv& env);

 private:
  enum class Phase { kGrasp, kCarry, kLower, kRelease };
  const ObjectId top_;
  const ObjectId base_;
  ScriptedLiftPolicy lift_;
  Phase phase_ = Phase::kGrasp;
  int phase_steps_ = 0;
};

// The scripted controller of a task, chosen the way the viewer and the evaluator need it:
// Reach and Lift use the lift controller on their object (its approach solves Reach),
// Stack the stack controller. Match-Positions and Move have none yet.
class ScriptedTaskPolicy {
 public:
  // Null when `task` has no scripted controller.
  static std::unique_ptr<ScriptedTaskPolicy> ForTask(Task task);
  void Reset();
  Action Act(const SawyerEnv& env);

 private:
  explicit ScriptedTaskPolicy(Task task);
  const Task task_;
  ScriptedLiftPolicy lift_;
  ScriptedStackPolicy stack_;
};

// Proportional velocity command towards `target` (TCP) and `yaw` (gripper), saturated to
// [-1, 1]; `gripper` is the gripper entry.
Action MoveTowards(const SawyerEnv& env, const Vec3& target, double yaw, float gripper);

}  // namespace ivg::env

#endif  // IVG_SERVICES_ACTOR_ENV_SCRIPTED_POLICIES_H_
