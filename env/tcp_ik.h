// Damped-least-squares inverse kinematics of the TCP site (mj_jacSite) for the 7 arm joints,
// with the gripper pointing straight down and a given rotation (yaw) about the vertical.
// Works on its own mjData so it never disturbs the simulated state.
#ifndef IVG_ENV_TCP_IK_H_
#define IVG_ENV_TCP_IK_H_

#include <mujoco/mujoco.h>

#include <array>
#include <memory>

#include "absl/status/statusor.h"
#include "env/mujoco_handles.h"
#include "env/reward_terms.h"

namespace ivg::env {

inline constexpr int kArmDof = 7;
using ArmVector = std::array<double, kArmDof>;

class TcpIk {
 public:
  // `model` must outlive the solver. Arm joints are named by scene_xml.h.
  static absl::StatusOr<std::unique_ptr<TcpIk>> Create(const mjModel* model, double damping);

  // Moves `q` (arm joint positions, in/out) towards a pose with the TCP at `position` and
  // the gripper pointing down rotated by `yaw`, by `iterations` DLS steps with a weak
  // null-space pull towards the home pose; the result stays inside the joint ranges.
  // Returns the remaining position error (m).
  double Solve(const Vec3& position, double yaw, int iterations, ArmVector* q);

  // Forward kinematics of the TCP for arm joints `q`: position and the world rotation
  // matrix (row-major, columns are the site's axes).
  void TcpPose(const ArmVector& q, Vec3* position, std::array<double, 9>* rotation);

  const ArmVector& lower() const { return lower_; }
  const ArmVector& upper() const { return upper_; }

 private:
  TcpIk(const mjModel* model, MjDataPtr data, double damping);

  const mjModel* model_;
  MjDataPtr data_;
  const double damping_;
  int site_ = -1;
  std::array<int, kArmDof> qpos_adr_{};
  std::array<int, kArmDof> dof_adr_{};
  ArmVector lower_{};
  ArmVector upper_{};
  std::unique_ptr<mjtNum[]> jacp_;
  std::unique_ptr<mjtNum[]> jacr_;
};

}  // namespace ivg::env

#endif  // IVG_ENV_TCP_IK_H_
