#include "env/tcp_ik.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "env/scene_xml.h"

namespace ivg::env {
namespace {

// Keep targets this far inside the joint ranges so the servos never press on the limits.
constexpr double kLimitMargin = 0.02;
// Largest joint change per DLS iteration (rad): keeps big corrections stable.
constexpr double kMaxJointStep = 0.2;
constexpr double kNullSpaceGain = 0.05;

// Solves the symmetric positive definite 6x6 system A x = b in place (Cholesky).
void Solve6(double a[36], double b[6]) {
  for (int j = 0; j < 6; ++j) {
    double s = a[j * 6 + j];
    for (int k = 0; k < j; ++k) s -= a[j * 6 + k] * a[j * 6 + k];
    const double d = std::sqrt(std::max(s, 1e-12));
    a[j * 6 + j] = d;
    for (int i = j + 1; i < 6; ++i) {
      double t = a[i * 6 + j];
      for (int k = 0; k < j; ++k) t -= a[i * 6 + k] * a[j * 6 + k];
      a[i * 6 + j] = t / d;
    }
  }
  for (int i = 0; i < 6; ++i) {
    double t = b[i];
    for (int k = 0; k < i; ++k) t -= a[i * 6 + k] * b[k];
    b[i] = t / a[i * 6 + i];
  }
  for (int i = 5; i >= 0; --i) {
    double t = b[i];
    for (int k = i + 1; k < 6; ++k) t -= a[k * 6 + i] * b[k];
    b[i] = t / a[i * 6 + i];
  }
}

}  // namespace

TcpIk::TcpIk(const mjModel* model, MjDataPtr data, double damping)
    : model_(model),
      data_(std::move(data)),
      damping_(damping),
      jacp_(new mjtNum[3 * model->nv]),
      jacr_(new mjtNum[3 * model->nv]) {}

absl::StatusOr<std::unique_ptr<TcpIk>> TcpIk::Create(const mjModel* model, double damping) {
  InstallMujocoHandlers();
  MjDataPtr data(mj_makeData(model));
  if (data == nullptr) return absl::InternalError("mj_makeData failed for the IK");
  std::unique_ptr<TcpIk> ik(new TcpIk(model, std::move(data), damping));
  ik->site_ = mj_name2id(model, mjOBJ_SITE, scene::kTcpSite);
  if (ik->site_ < 0) return absl::InvalidArgumentError("the model has no TCP site");
  for (int i = 0; i < kArmDof; ++i) {
    const int joint = mj_name2id(model, mjOBJ_JOINT, scene::kArmJointNames[i]);
    if (joint < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("the model has no arm joint ", scene::kArmJointNames[i]));
    }
    ik->qpos_adr_[i] = model->jnt_qposadr[joint];
    ik->dof_adr_[i] = model->jnt_dofadr[joint];
    ik->lower_[i] = model->jnt_range[2 * joint] + kLimitMargin;
    ik->upper_[i] = model->jnt_range[2 * joint + 1] - kLimitMargin;
  }
  return ik;
}

void TcpIk::TcpPose(const ArmVector& q, Vec3* position, std::array<double, 9>* rotation) {
  mjData* d = data_.get();
  for (int i = 0; i < kArmDof; ++i) d->qpos[qpos_adr_[i]] = q[i];
  mj_kinematics(model_, d);
  for (int i = 0; i < 3; ++i) (*position)[i] = d->site_xpos[3 * site_ + i];
  for (int i = 0; i < 9; ++i) (*rotation)[i] = d->site_xmat[9 * site_ + i];
}

double TcpIk::Solve(const Vec3& target, double yaw, int iterations, ArmVector* q) {
  mjData* d = data_.get();
  const int nv = model_->nv;
  // Target axes: x = (cos yaw, sin yaw, 0), z = down, y = z cross x.
  const double c = std::cos(yaw), s = std::sin(yaw);
  const double target_axes[3][3] = {{c, s, 0}, {s, -c, 0}, {0, 0, -1}};
  double position_error = 0;
  for (int iter = 0; iter <= iterations; ++iter) {
    for (int i = 0; i < kArmDof; ++i) d->qpos[qpos_adr_[i]] = (*q)[i];
    mj_kinematics(model_, d);
    const mjtNum* p = d->site_xpos + 3 * site_;
    const mjtNum* r = d->site_xmat + 9 * site_;
    double error[6];
    for (int i = 0; i < 3; ++i) error[i] = target[i] - p[i];
    position_error = std::sqrt(error[0] * error[0] + error[1] * error[1] + error[2] * error[2]);
    if (iter == iterations) break;
    // Orientation error: 0.5 * sum_k axis_k x target_axis_k.
    for (int i = 3; i < 6; ++i) error[i] = 0;
    for (int k = 0; k < 3; ++k) {
      const double a[3] = {r[0 * 3 + k], r[1 * 3 + k], r[2 * 3 + k]};
      const double* t = target_axes[k];
      error[3] += 0.5 * (a[1] * t[2] - a[2] * t[1]);
      error[4] += 0.5 * (a[2] * t[0] - a[0] * t[2]);
      error[5] += 0.5 * (a[0] * t[1] - a[1] * t[0]);
    }
    mj_comPos(model_, d);
    mj_jacSite(model_, d, jacp_.get(), jacr_.get(), site_);
    double jac[6][kArmDof];
    for (int i = 0; i < kArmDof; ++i) {
      for (int row = 0; row < 3; ++row) {
        jac[row][i] = jacp_[row * nv + dof_adr_[i]];
        jac[row + 3][i] = jacr_[row * nv + dof_adr_[i]];
      }
    }
    // dq = J^T (J J^T + lambda^2 I)^-1 e, plus (I - J^+ J) k (q_home - q).
    double jjt[36];
    for (int a = 0; a < 6; ++a) {
      for (int b = 0; b < 6; ++b) {
        double sum = 0;
        for (int i = 0; i < kArmDof; ++i) sum += jac[a][i] * jac[b][i];
        jjt[a * 6 + b] = sum + (a == b ? damping_ * damping_ : 0.0);
      }
    }
    double jjt_copy[36];
    std::copy(jjt, jjt + 36, jjt_copy);
    double y[6];
    std::copy(error, error + 6, y);
    Solve6(jjt, y);
    double dq[kArmDof];
    double null[kArmDof];
    for (int i = 0; i < kArmDof; ++i) {
      dq[i] = 0;
      for (int a = 0; a < 6; ++a) dq[i] += jac[a][i] * y[a];
      null[i] = kNullSpaceGain * (scene::kHomePose[i] - (*q)[i]);
    }
    // Project the null-space pull: null - J^T (J J^T + l^2 I)^-1 J null.
    double jn[6];
    for (int a = 0; a < 6; ++a) {
      jn[a] = 0;
      for (int i = 0; i < kArmDof; ++i) jn[a] += jac[a][i] * null[i];
    }
    Solve6(jjt_copy, jn);
    double largest = 0;
    for (int i = 0; i < kArmDof; ++i) {
      double projected = null[i];
      for (int a = 0; a < 6; ++a) projected -= jac[a][i] * jn[a];
      dq[i] += projected;
      largest = std::max(largest, std::fabs(dq[i]));
    }
    const double scale = largest > kMaxJointStep ? kMaxJointStep / largest : 1.0;
    for (int i = 0; i < kArmDof; ++i) {
      (*q)[i] = std::clamp((*q)[i] + scale * dq[i], lower_[i], upper_[i]);
    }
  }
  return position_error;
}

}  // namespace ivg::env
