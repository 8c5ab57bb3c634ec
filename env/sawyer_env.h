// The Sawyer manipulation environment of docs/environment.md: dm_env-style Reset/Step over the
// MuJoCo scene of scene_xml.h, 5-D TCP velocity control through IK, 17-D proprioception,
// two 64x64 cameras, and the rewards of every configured task per step.
//
// Usage:
//   IVG_ASSIGN_OR_RETURN(auto env, SawyerEnv::Create(config.env()));
//   env->SetTaskIndex(k);                       // multi-task: which task this episode runs
//   IVG_ASSIGN_OR_RETURN(TimeStep ts, env->Reset(seed + actor_id));
//   while (!ts.last) { IVG_ASSIGN_OR_RETURN(ts, env->Step(action)); }
//
// Determinism: the same seed and the same actions give bit-identical observations (one
// thread, one build). Thread-compatible: one thread at a time.
#ifndef IVG_ENV_SAWYER_ENV_H_
#define IVG_ENV_SAWYER_ENV_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "env/camera_renderer.h"
#include "env/env_spec.h"
#include "env/mujoco_env.h"
#include "env/reward_state.h"
#include "env/tcp_ik.h"
#include "proto/config.pb.h"

namespace ivg::env {

struct TaskSpec;  // task_table.h

struct EnvOptions {
  // Without rendering, observations carry no pixels (for state-only tests and baselines).
  bool render = true;
};

// Objects of the scene, in object_state order.
enum class ObjectId { kRed = 0, kBlue = 1, kDistractor = 2 };

class SawyerEnv : public MujocoEnv {
 public:
  // Validates `config` (task list, sizes) and builds the scene, the IK and the renderer.
  static absl::StatusOr<std::unique_ptr<SawyerEnv>> Create(const EnvConfig& config,
                                                           const EnvOptions& options = {});

  const EnvSpec& spec() const { return spec_; }

  // Starts an episode: objects at random non-overlapping places on the table, gripper
  // 10-20 cm above it, fingers open. All randomness of the episode derives from `seed`.
  absl::StatusOr<TimeStep> Reset(uint64_t seed);

  // One control step (substeps physics steps). InvalidArgument for a wrong size or a
  // non-finite entry; entries outside [-1, 1] are clipped and counted.
  absl::StatusOr<TimeStep> Step(absl::Span<const float> action);

  // The task the episode executes, as an index into spec().tasks. Takes effect for the
  // rewards from the next Step; the actor sets it before Reset.
  absl::Status SetTaskIndex(int index);
  int task_index() const { return task_index_; }

  // Actions that had at least one entry outside [-1, 1] since creation.
  int64_t clipped_action_count() const { return clipped_action_count_; }

  // Scene queries (world frame) for scripted controllers, tests and debugging.
  Vec3 TcpPosition() const;
  Vec3 TcpTarget() const { return tcp_target_; }
  // Rotation of the gripper about the vertical (rad), and whether it points down (the cosine
  // between the gripper axis and -z).
  double GripperYaw() const;
  double GripperDownCosine() const;
  Vec3 ObjectPosition(ObjectId id) const;
  // Yaw of the object about the vertical (rad).
  double ObjectYaw(ObjectId id) const;
  double ObjectRestZ(ObjectId id) const;
  double FingerOpening() const;
  bool Grasp() const;
  ArmVector ArmJointPositions() const;
  const TcpIk& ik() const { return *ik_; }
  // The renderer's device ("mesa-surfaceless (llvmpipe ...)"), empty without rendering.
  std::string render_device() const;

 private:
  struct ObjectIds {
    int body = -1;
    int qpos = -1;
    int dof = -1;
    int geom = -1;
    double rest_z = 0;
    double radius = 0;  // bounding radius in the table plane
  };

  SawyerEnv(MjModelPtr model, MjDataPtr data, const EnvConfig& config);
  absl::Status Init(const EnvOptions& options);
  absl::StatusOr<TimeStep> MakeTimeStep(bool first);
  std::array<float, kProprioSize> CurrentProprio() const;
  RewardState CurrentRewardState() const;
  static void BeforePhysicsStep(const mjModel* m, mjData* d, void* self);

  const EnvConfig config_;
  EnvSpec spec_;
  std::unique_ptr<TcpIk> ik_;
  std::unique_ptr<CameraRenderer> renderer_;

  std::array<int, kArmDof> arm_qpos_{};
  std::array<int, kArmDof> arm_dof_{};
  int finger_qpos_ = -1;
  int finger_dof_ = -1;
  int finger_right_dof_ = -1;
  int gripper_actuator_ = -1;
  std::array<int, kArmDof> arm_actuators_{};
  int tcp_site_ = -1;
  int pad_left_geom_ = -1;
  int pad_right_geom_ = -1;
  std::vector<ObjectIds> objects_;
  std::array<float, 4> red_rgba_{};
  std::array<float, 4> blue_rgba_{};

  // Episode state.
  std::mt19937_64 rng_;
  bool episode_running_ = false;
  int step_ = 0;
  int task_index_ = 0;
  // The rows (task_table.h) of spec_.tasks, resolved once at Create.
  std::vector<const TaskSpec*> task_specs_;
  Vec3 tcp_target_{};
  double yaw_target_ = 0;
  double finger_target_ = 0;
  ArmVector joint_target_{};
  std::deque<std::array<float, kProprioSize>> proprio_history_;
  int64_t clipped_action_count_ = 0;
};

}  // namespace ivg::env

#endif  // IVG_ENV_SAWYER_ENV_H_
