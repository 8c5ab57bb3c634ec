// Scripted controllers that solve every task from the simulator state (not from pixels):
// they demonstrate the tasks are solvable with this gripper and controller, feed the viewer,
// give the evaluator its ceiling, and serve as acceptance tests of the physics.
#ifndef IVG_ENV_SCRIPTED_POLICIES_H_
#define IVG_ENV_SCRIPTED_POLICIES_H_

#include <array>
#include <memory>
#include <optional>

#include "env/env_spec.h"
#include "env/sawyer_env.h"

namespace ivg::env {

using Action = std::array<float, kActionSize>;

// A controller that solves a task from the simulator state. Call Reset() at each episode
// start. Each task's row in task_table.h names its controller.
class ScriptedTaskPolicy {
 public:
  virtual ~ScriptedTaskPolicy() = default;
  // The controller of `task` (task_table.h); null when the environment does not implement
  // the task. `reward` gives Match-Positions its targets.
  static std::unique_ptr<ScriptedTaskPolicy> ForTask(Task task,
                                                     const RewardConfig& reward = RewardConfig());
  virtual void Reset() = 0;
  virtual Action Act(const SawyerEnv& env) = 0;
};

// Reach above the object, descend, close, lift (its approach alone solves Reach).
class ScriptedLiftPolicy final : public ScriptedTaskPolicy {
 public:
  explicit ScriptedLiftPolicy(ObjectId object, double lift_height = 0.15)
      : object_(object), lift_height_(lift_height) {}
  void Reset() override {
    phase_ = Phase::kApproach;
    phase_steps_ = 0;
  }
  Action Act(const SawyerEnv& env) override;

 private:
  enum class Phase { kApproach, kDescend, kClose, kLift };
  const ObjectId object_;
  const double lift_height_;
  Phase phase_ = Phase::kApproach;
  int phase_steps_ = 0;
};

// Grasp an object, carry it above where it should come to rest, lower it there and let go:
// onto another object (Stack) or onto a point of the table (Match-Positions). done() once it
// has let go.
class ScriptedPlacePolicy final : public ScriptedTaskPolicy {
 public:
  // Stack: `object` onto `base`, carried with its bottom 2 cm above the base's top; after the
  // release the fingers stay around it (REACH keeps paying while it rests on the base).
  static ScriptedPlacePolicy Onto(ObjectId object, ObjectId base);
  // `object` to (x, y) on the table, carried 4 cm above it; after the release the gripper
  // rises clear so the fingers do not drag it along.
  static ScriptedPlacePolicy At(ObjectId object, double x, double y);

  void Reset() override {
    lift_.Reset();
    phase_ = Phase::kGrasp;
    phase_steps_ = 0;
  }
  Action Act(const SawyerEnv& env) override;
  bool done() const { return phase_ == Phase::kRelease && phase_steps_ > 5; }

 private:
  // Heights are above the goal, the object's centre where it should come to rest.
  struct Motion {
    double lift_height;      // of the grasp that starts it
    double carry_height;     // while carrying it over the goal
    double lower_height;     // the lowering's target
    double released_below;   // lowered once below this ...
    int max_lower_steps;     // ... or after this many steps
    bool rise_after_release;
  };
  ScriptedPlacePolicy(ObjectId object, std::optional<ObjectId> base, double x, double y,
                      const Motion& motion)
      : object_(object), base_(base), x_(x), y_(y), motion_(motion),
        lift_(object, motion.lift_height) {}
  Vec3 Goal(const SawyerEnv& env) const;
  enum class Phase { kGrasp, kCarry, kLower, kRelease };
  const ObjectId object_;
  // Onto this object, or else at (x_, y_) on the table.
  const std::optional<ObjectId> base_;
  const double x_, y_;
  const Motion motion_;
  ScriptedLiftPolicy lift_;
  Phase phase_ = Phase::kGrasp;
  int phase_steps_ = 0;
};

// Match-Positions: red to its target (reward.match_red_target_*), then blue to its own.
class ScriptedMatchPositionsPolicy final : public ScriptedTaskPolicy {
 public:
  explicit ScriptedMatchPositionsPolicy(const RewardConfig& reward)
      : red_(ScriptedPlacePolicy::At(ObjectId::kRed, reward.match_red_target_x(),
                                     reward.match_red_target_y())),
        blue_(ScriptedPlacePolicy::At(ObjectId::kBlue, reward.match_blue_target_x(),
                                      reward.match_blue_target_y())) {}
  void Reset() override {
    red_.Reset();
    blue_.Reset();
  }
  Action Act(const SawyerEnv& env) override {
    return red_.done() ? blue_.Act(env) : red_.Act(env);
  }

 private:
  ScriptedPlacePolicy red_;
  ScriptedPlacePolicy blue_;
};

// Move(O): grasp the object and carry it round a circle above the table at the TCP's full
// speed (max_tcp_speed 0.25 m/s per axis, up to ~0.35 m/s diagonally: inside MOVE's
// tolerance of the 0.3 m/s target).
class ScriptedMovePolicy final : public ScriptedTaskPolicy {
 public:
  explicit ScriptedMovePolicy(ObjectId object) : object_(object), lift_(object, 0.05) {}
  void Reset() override {
    lift_.Reset();
    carrying_ = false;
  }
  Action Act(const SawyerEnv& env) override;

 private:
  const ObjectId object_;
  ScriptedLiftPolicy lift_;
  bool carrying_ = false;
};

// Proportional velocity command towards `target` (TCP) and `yaw` (gripper), saturated to
// [-1, 1]; `gripper` is the gripper entry.
Action MoveTowards(const SawyerEnv& env, const Vec3& target, double yaw, float gripper);

}  // namespace ivg::env

#endif  // IVG_ENV_SCRIPTED_POLICIES_H_
