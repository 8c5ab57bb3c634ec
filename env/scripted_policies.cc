#include "env/scripted_policies.h"

#include <algorithm>
#include <cmath>

#include "env/task_table.h"

namespace ivg::env {
namespace {

float Saturate(double v) { return static_cast<float>(std::clamp(v, -1.0, 1.0)); }

// Angle difference wrapped into [-period/2, period/2).
double WrapDifference(double a, double period) {
  double d = std::fmod(a + period / 2, period);
  if (d < 0) d += period;
  return d - period / 2;
}

// Gripper yaw that aligns the pads with the object's faces, nearest to the current yaw and
// inside the wrist's target range.
double GraspYaw(const SawyerEnv& env, ObjectId object) {
  const double current = env.GripperYaw();
  double target = current + WrapDifference(env.ObjectYaw(object) - current, M_PI / 2);
  while (target > M_PI / 2) target -= M_PI / 2;
  while (target < -M_PI / 2) target += M_PI / 2;
  return target;
}

double HorizontalDistance(const Vec3& a, const Vec3& b) {
  return std::hypot(a[0] - b[0], a[1] - b[1]);
}

// The grasped object off the table: where the carrying phases take over from the lift.
bool HoldsLifted(const SawyerEnv& env, ObjectId object) {
  return env.Grasp() && env.ObjectPosition(object)[2] > env.ObjectRestZ(object) + 0.01;
}

// The TCP target that puts a held object at `object_goal`: the object may sit off-centre
// between the pads, so steer the object, not the TCP.
Vec3 TcpTargetForObject(const Vec3& tcp, const Vec3& object, const Vec3& object_goal) {
  return {object_goal[0] + tcp[0] - object[0], object_goal[1] + tcp[1] - object[1],
          object_goal[2] + tcp[2] - object[2]};
}

}  // namespace

Action MoveTowards(const SawyerEnv& env, const Vec3& target, double yaw, float gripper) {
  const EnvConfig& c = env.spec().config;
  const double step = c.max_tcp_speed() * c.physics_timestep() * c.substeps();
  const double yaw_step = c.max_wrist_speed() * c.physics_timestep() * c.substeps();
  // Command relative to the controller's own target (it integrates our velocities), with a
  // little feedback from the measured TCP so contact errors do not accumulate.
  const Vec3 tcp = env.TcpPosition();
  const Vec3 commanded = env.TcpTarget();
  Action a{};
  for (int i = 0; i < 3; ++i) {
    const double error = target[i] - (0.7 * commanded[i] + 0.3 * tcp[i]);
    a[i] = Saturate(error / step);
  }
  a[kActionGripper] = gripper;
  a[kActionWrist] = Saturate(WrapDifference(yaw - env.GripperYaw(), 2 * M_PI) / yaw_step);
  return a;
}

Action ScriptedLiftPolicy::Act(const SawyerEnv& env) {
  const Vec3 object = env.ObjectPosition(object_);
  const Vec3 tcp = env.TcpPosition();
  const double yaw = GraspYaw(env, object_);
  ++phase_steps_;
  switch (phase_) {
    case Phase::kApproach: {
      // Above the object; descend while travelling but keep the fingertips clear of it.
      const double xy = HorizontalDistance(tcp, object);
      const double clearance = xy > 0.04 ? 0.08 : 0.0;
      const Vec3 target = {object[0], object[1], object[2] + clearance};
      const double yaw_error = std::fabs(WrapDifference(yaw - env.GripperYaw(), 2 * M_PI));
      if (xy < 0.012 && yaw_error < 0.08) {
        phase_ = Phase::kDescend;
        phase_steps_ = 0;
      }
      return MoveTowards(env, target, yaw, -1.0f);
    }
    case Phase::kDescend: {
      const Vec3 target = {object[0], object[1], object[2]};
      if (std::fabs(tcp[2] - object[2]) < 0.008 || phase_steps_ > 20) {
        phase_ = Phase::kClose;
        phase_steps_ = 0;
      }
      return MoveTowards(env, target, yaw, -1.0f);
    }
    case Phase::kClose: {
      const Vec3 target = {object[0], object[1], object[2]};
      if ((env.Grasp() && phase_steps_ >= 3) || phase_steps_ > 15) {
        phase_ = Phase::kLift;
        phase_steps_ = 0;
      }
      return MoveTowards(env, target, yaw, 1.0f);
    }
    case Phase::kLift:
    default: {
      if (!env.Grasp() && phase_steps_ > 10 && object[2] < env.ObjectRestZ(object_) + 0.01) {
        // Dropped: start over.
        phase_ = Phase::kApproach;
        phase_steps_ = 0;
      }
      const Vec3 target = {tcp[0], tcp[1], env.ObjectRestZ(object_) + lift_height_};
      return MoveTowards(env, target, env.GripperYaw(), 1.0f);
    }
  }
}

ScriptedPlacePolicy ScriptedPlacePolicy::Onto(ObjectId object, ObjectId base) {
  return ScriptedPlacePolicy(object, base, 0, 0,
                             Motion{/*lift_height=*/0.10, /*carry_height=*/0.02,
                                    /*lower_height=*/0.003, /*released_below=*/0.008,
                                    /*max_lower_steps=*/15, /*rise_after_release=*/false});
}

ScriptedPlacePolicy ScriptedPlacePolicy::At(ObjectId object, double x, double y) {
  return ScriptedPlacePolicy(object, std::nullopt, x, y,
                             Motion{/*lift_height=*/0.06, /*carry_height=*/0.04,
                                    /*lower_height=*/0.002, /*released_below=*/0.006,
                                    /*max_lower_steps=*/20, /*rise_after_release=*/true});
}

Vec3 ScriptedPlacePolicy::Goal(const SawyerEnv& env) const {
  if (base_) {
    const Vec3 base = env.ObjectPosition(*base_);
    return {base[0], base[1], base[2] + env.spec().config.cube_side()};
  }
  return {x_, y_, env.ObjectRestZ(object_)};
}

Action ScriptedPlacePolicy::Act(const SawyerEnv& env) {
  const Vec3 object = env.ObjectPosition(object_);
  const Vec3 tcp = env.TcpPosition();
  const Vec3 goal = Goal(env);
  ++phase_steps_;
  switch (phase_) {
    case Phase::kGrasp: {
      const Action a = lift_.Act(env);
      if (HoldsLifted(env, object_)) {
        phase_ = Phase::kCarry;
        phase_steps_ = 0;
      }
      return a;
    }
    case Phase::kCarry: {
      if (!env.Grasp()) {
        Reset();
        return lift_.Act(env);
      }
      const Vec3 target =
          TcpTargetForObject(tcp, object, {goal[0], goal[1], goal[2] + motion_.carry_height});
      if (HorizontalDistance(object, goal) < 0.006 && object[2] > goal[2]) {
        phase_ = Phase::kLower;
        phase_steps_ = 0;
      }
      return MoveTowards(env, target, env.GripperYaw(), 1.0f);
    }
    case Phase::kLower: {
      const Vec3 target =
          TcpTargetForObject(tcp, object, {goal[0], goal[1], goal[2] + motion_.lower_height});
      if (object[2] < goal[2] + motion_.released_below ||
          phase_steps_ > motion_.max_lower_steps) {
        phase_ = Phase::kRelease;
        phase_steps_ = 0;
      }
      return MoveTowards(env, target, env.GripperYaw(), 1.0f);
    }
    case Phase::kRelease:
    default: {
      // Open first; then stay, or rise clear.
      const bool rise = motion_.rise_after_release && phase_steps_ > 5;
      return MoveTowards(env, {tcp[0], tcp[1], rise ? goal[2] + 0.10 : tcp[2]},
                         env.GripperYaw(), -1.0f);
    }
  }
}

Action ScriptedMovePolicy::Act(const SawyerEnv& env) {
  const Vec3 object = env.ObjectPosition(object_);
  const double rest_z = env.ObjectRestZ(object_);
  if (!carrying_) {
    const Action a = lift_.Act(env);
    carrying_ = HoldsLifted(env, object_);
    return a;
  }
  if (!env.Grasp()) {  // Dropped: grasp again.
    Reset();
    return lift_.Act(env);
  }
  // Round a circle of 8 cm about the table's centre, aiming well ahead of the object so the
  // command saturates (full speed) and the radial error corrects itself.
  constexpr double kRadius = 0.08, kLead = 0.8;
  const Vec3 tcp = env.TcpPosition();
  const double angle = std::atan2(object[1], object[0]) + kLead;
  const Vec3 target = TcpTargetForObject(
      tcp, object, {kRadius * std::cos(angle), kRadius * std::sin(angle), rest_z + 0.04});
  return MoveTowards(env, target, env.GripperYaw(), 1.0f);
}

std::unique_ptr<ScriptedTaskPolicy> ScriptedTaskPolicy::ForTask(Task task,
                                                                 const RewardConfig& reward) {
  absl::StatusOr<const TaskSpec*> spec = FindTask(task);
  return spec.ok() ? (*spec)->scripted(reward) : nullptr;
}

}  // namespace ivg::env
