// Scripted controllers that solve every task from the simulator state (not from pixels):
// they demonstrate the tasks are solvable with this gripper and controller, feed the viewer,
// give the evaluator its ceiling, and serve as acceptance tests of the physics.
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

// Grasp `object`, carry it a few centimetres above the table to (target_x, target_y), put it
// down there and let go, then rise clear of it. done() once it has let go.
class ScriptedPlacePolicy {
 public:
  ScriptedPlacePolicy(ObjectId object, double target_x, double target_y)
      : object_(object), target_x_(target_x), target_y_(target_y), lift_(object, 0.06) {}
  void Reset() {
    lift_.Reset();
    phase_ = Phase::kGrasp;
    phase_steps_ = 0;
  }
  Action Act(const SawyerEnv& env);
  bool done() const { return phase_ == Phase::kRelease && phase_steps_ > 5; }

 private:
  enum class Phase { kGrasp, kCarry, kLower, kRelease };
  const ObjectId object_;
  const double target_x_, target_y_;
  ScriptedLiftPolicy lift_;
  Phase phase_ = Phase::kGrasp;
  int phase_steps_ = 0;
};

// Match-Positions: red to its target (reward.match_red_target_*), then blue to its own.
class ScriptedMatchPositionsPolicy {
 public:
  explicit ScriptedMatchPositionsPolicy(const RewardConfig& reward)
      : red_(ObjectId::kRed, reward.match_red_target_x(), reward.match_red_target_y()),
        blue_(ObjectId::kBlue, reward.match_blue_target_x(), reward.match_blue_target_y()) {}
  void Reset() {
    red_.Reset();
    blue_.Reset();
  }
  Action Act(const SawyerEnv& env) { return red_.done() ? blue_.Act(env) : red_.Act(env); }

 private:
  ScriptedPlacePolicy red_;
  ScriptedPlacePolicy blue_;
};

// Move(O): grasp the object and carry it round a circle above the table at the TCP's full
// speed (max_tcp_speed 0.25 m/s per axis, up to ~0.35 m/s diagonally: inside MOVE's
// tolerance of the 0.3 m/s target).
class ScriptedMovePolicy {
 public:
  explicit ScriptedMovePolicy(ObjectId object) : object_(object), lift_(object, 0.05) {}
  void Reset() {
    lift_.Reset();
    carrying_ = false;
  }
  Action Act(const SawyerEnv& env);

 private:
  const ObjectId object_;
  ScriptedLiftPolicy lift_;
  bool carrying_ = false;
};

// The scripted controller of a task, chosen the way the viewer and the evaluator need it:
// Reach and Lift use the lift controller on their object (its approach solves Reach),
// Stack the stack controller, Match-Positions and Move their own.
class ScriptedTaskPolicy {
 public:
  // Null when `task` has no scripted controller. `reward` gives Match-Positions' targets.
  static std::unique_ptr<ScriptedTaskPolicy> ForTask(Task task,
                                                     const RewardConfig& reward = RewardConfig());
  void Reset();
  Action Act(const SawyerEnv& env);

 private:
  explicit ScriptedTaskPolicy(Task task, const RewardConfig& reward);
  const Task task_;
  ScriptedLiftPolicy lift_;
  ScriptedStackPolicy stack_;
  ScriptedMatchPositionsPolicy match_;
  ScriptedMovePolicy move_;
};

// Proportional velocity command towards `target` (TCP) and `yaw` (gripper), saturated to
// [-1, 1]; `gripper` is the gripper entry.
Action MoveTowards(const SawyerEnv& env, const Vec3& target, double yaw, float gripper);

}  // namespace ivg::env

#endif  // IVG_SERVICES_ACTOR_ENV_SCRIPTED_POLICIES_H_
