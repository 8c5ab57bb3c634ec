#include "env/sawyer_env.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "env/scene_xml.h"
#include "env/task_table.h"

namespace ivg::env {
namespace {

// IK iterations per control step (from the previous joint target, so it converges over steps)
// and at reset (from the home pose).
constexpr int kIkIterationsPerStep = 4;
constexpr int kIkIterationsAtReset = 300;
// Wrist yaw target range (rad): the gripper is symmetric under half turns.
constexpr double kMaxYaw = M_PI / 2;

int Id(const mjModel* m, mjtObj type, const std::string& name) {
  return mj_name2id(m, type, name.c_str());
}

}  // namespace

SawyerEnv::SawyerEnv(MjModelPtr model, MjDataPtr data, const EnvConfig& config)
    : MujocoEnv(std::move(model), std::move(data)), config_(config) {}

absl::StatusOr<std::unique_ptr<SawyerEnv>> SawyerEnv::Create(const EnvConfig& config,
                                                             const EnvOptions& options) {
  std::vector<Task> tasks;
  for (int t : config.multitask_tasks()) tasks.push_back(static_cast<Task>(t));
  if (tasks.empty()) tasks.push_back(config.task());
  std::vector<const TaskSpec*> task_specs;
  for (int i = 0; i < static_cast<int>(tasks.size()); ++i) {
    absl::StatusOr<const TaskSpec*> row = FindTask(tasks[i]);
    if (!row.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          config.multitask_tasks().empty() ? "env.task: "
                                           : absl::StrCat("env.multitask_tasks[", i, "]: "),
          row.status().message()));
    }
    task_specs.push_back(*row);
  }
  if (config.start_height_min() > config.start_height_max()) {
    return absl::InvalidArgumentError("env.start_height_min exceeds env.start_height_max");
  }
  if (config.workspace_min_height() >= config.workspace_max_height()) {
    return absl::InvalidArgumentError(
        "env.workspace_min_height must be below env.workspace_max_height");
  }
  const std::string xml = BuildSceneXml(config);
  auto compiled = Compile(xml, "the Sawyer scene");
  if (!compiled.ok()) return compiled.status();
  std::unique_ptr<SawyerEnv> env(
      new SawyerEnv(std::move(compiled->first), std::move(compiled->second), config));
  env->spec_.tasks = std::move(tasks);
  env->task_specs_ = std::move(task_specs);
  if (absl::Status s = env->Init(options); !s.ok()) return s;
  return env;
}

absl::Status SawyerEnv::Init(const EnvOptions& options) {
  const mjModel* m = model();
  for (int i = 0; i < kArmDof; ++i) {
    const int joint = Id(m, mjOBJ_JOINT, scene::kArmJointNames[i]);
    const int actuator = Id(m, mjOBJ_ACTUATOR, absl::StrCat("a", i));
    if (joint < 0 || actuator < 0) return absl::InternalError("scene lacks an arm joint/actuator");
    arm_qpos_[i] = m->jnt_qposadr[joint];
    arm_dof_[i] = m->jnt_dofadr[joint];
    arm_actuators_[i] = actuator;
  }
  const int finger = Id(m, mjOBJ_JOINT, scene::kFingerJointLeft);
  const int finger_right = Id(m, mjOBJ_JOINT, scene::kFingerJointRight);
  gripper_actuator_ = Id(m, mjOBJ_ACTUATOR, scene::kGripperActuator);
  tcp_site_ = Id(m, mjOBJ_SITE, scene::kTcpSite);
  pad_left_geom_ = Id(m, mjOBJ_GEOM, scene::kPadGeomLeft);
  pad_right_geom_ = Id(m, mjOBJ_GEOM, scene::kPadGeomRight);
  if (finger < 0 || finger_right < 0 || gripper_actuator_ < 0 || tcp_site_ < 0 ||
      pad_left_geom_ < 0 || pad_right_geom_ < 0) {
    return absl::InternalError("scene lacks a gripper element");
  }
  finger_qpos_ = m->jnt_qposadr[finger];
  finger_dof_ = m->jnt_dofadr[finger];
  finger_right_dof_ = m->jnt_dofadr[finger_right];

  std::vector<std::string> names = {scene::kRed, scene::kBlue};
  if (config_.distractor() != DISTRACTOR_NONE) names.push_back(scene::kDistractor);
  for (const std::string& name : names) {
    ObjectIds ids;
    ids.body = Id(m, mjOBJ_BODY, name);
    const int joint = Id(m, mjOBJ_JOINT, name + "_joint");
    ids.geom = Id(m, mjOBJ_GEOM, name + "_geom");
    if (ids.body < 0 || joint < 0 || ids.geom < 0) {
      return absl::InternalError("scene lacks object " + name);
    }
    ids.qpos = m->jnt_qposadr[joint];
    ids.dof = m->jnt_dofadr[joint];
    const mjtNum* size = m->geom_size + 3 * ids.geom;
    if (m->geom_type[ids.geom] == mjGEOM_SPHERE) {
      ids.rest_z = scene::kTableTopZ + size[0];
      ids.radius = size[0];
    } else {
      ids.rest_z = scene::kTableTopZ + size[2];
      ids.radius = std::sqrt(size[0] * size[0] + size[1] * size[1]);
    }
    objects_.push_back(ids);
  }
  for (int i = 0; i < 4; ++i) {
    red_rgba_[i] = m->geom_rgba[4 * objects_[0].geom + i];
    blue_rgba_[i] = m->geom_rgba[4 * objects_[1].geom + i];
  }

  auto ik = TcpIk::Create(m, config_.ik_damping());
  if (!ik.ok()) return ik.status();
  ik_ = std::move(*ik);

  const int size = config_.image_size();
  if (options.render) {
    const std::array<int, 2> cameras = {Id(m, mjOBJ_CAMERA, scene::kCameraLeft),
                                        Id(m, mjOBJ_CAMERA, scene::kCameraRight)};
    auto renderer = CameraRenderer::Create(m, config_.render_device(),
                                           config_.render_device_index(), size, cameras);
    if (!renderer.ok()) {
      return absl::Status(
          renderer.status().code(),
          absl::StrCat("env.render_device ", RenderDevice_Name(config_.render_device()), ": ",
                       renderer.status().message()));
    }
    renderer_ = std::move(*renderer);
  }

  spec_.config = config_;
  spec_.pixels = {"pixels", {6, size, size}, ArraySpec::DType::kUint8, 0, 255};
  spec_.proprio = {"proprio", {kProprioSize}, ArraySpec::DType::kFloat32, -HUGE_VAL, HUGE_VAL};
  spec_.object_state = {"object_state",
                        {static_cast<int>(objects_.size()) * kObjectFeatureSize},
                        ArraySpec::DType::kFloat32,
                        -HUGE_VAL,
                        HUGE_VAL};
  spec_.action = {"action", {kActionSize}, ArraySpec::DType::kFloat32, -1, 1};
  return absl::OkStatus();
}

absl::Status SawyerEnv::SetTaskIndex(int index) {
  if (index < 0 || index >= static_cast<int>(spec_.tasks.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("task index ", index, " outside [0, ", spec_.tasks.size(), ")"));
  }
  task_index_ = index;
  return absl::OkStatus();
}

std::string SawyerEnv::render_device() const {
  return renderer_ == nullptr ? "" : renderer_->device_description();
}

absl::StatusOr<TimeStep> SawyerEnv::Reset(uint64_t seed) {
  rng_.seed(seed);
  mjModel* m = mutable_model();
  mjData* d = mutable_data();
  mj_resetData(m, d);
  const double half_x = config_.table_width() / 2;
  const double half_y = config_.table_length() / 2;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * unit(rng_); };

  // Objects: rejection sampling of non-overlapping footprints.
  std::vector<std::array<double, 2>> placed;
  for (size_t k = 0; k < objects_.size(); ++k) {
    const ObjectIds& o = objects_[k];
    const double margin = o.radius + 0.01;
    double x = 0, y = 0;
    bool ok = false;
    for (int attempt = 0; attempt < 1000 && !ok; ++attempt) {
      x = uniform(-half_x + margin, half_x - margin);
      y = uniform(-half_y + margin, half_y - margin);
      ok = true;
      for (size_t j = 0; j < placed.size(); ++j) {
        const double min_distance = o.radius + objects_[j].radius + 0.01;
        if (std::hypot(x - placed[j][0], y - placed[j][1]) < min_distance) ok = false;
      }
    }
    if (!ok) return absl::InternalError("cannot place the objects apart on the table");
    placed.push_back({x, y});
    const double yaw = uniform(-M_PI, M_PI);
    mjtNum* q = d->qpos + o.qpos;
    q[0] = x;
    q[1] = y;
    q[2] = o.rest_z;
    q[3] = std::cos(yaw / 2);
    q[4] = 0;
    q[5] = 0;
    q[6] = std::sin(yaw / 2);
  }

  // Gripper: random TCP above the table, pointing down, fingers open.
  tcp_target_ = {
      uniform(-half_x + 0.03, half_x - 0.03), uniform(-half_y + 0.05, half_y - 0.05),
      scene::kTableTopZ + uniform(config_.start_height_min(), config_.start_height_max())};
  yaw_target_ = 0;
  std::copy(std::begin(scene::kHomePose), std::end(scene::kHomePose), joint_target_.begin());
  const double residual =
      ik_->Solve(tcp_target_, yaw_target_, kIkIterationsAtReset, &joint_target_);
  if (residual > 0.01) {
    return absl::InternalError(
        absl::StrFormat("IK cannot reach the start pose (%.3f, %.3f, %.3f): residual %.3f m",
                        tcp_target_[0], tcp_target_[1], tcp_target_[2], residual));
  }
  for (int i = 0; i < kArmDof; ++i) {
    d->qpos[arm_qpos_[i]] = joint_target_[i];
    d->ctrl[arm_actuators_[i]] = joint_target_[i];
  }
  finger_target_ = scene::kFingerStroke;
  d->qpos[finger_qpos_] = finger_target_;
  d->qpos[m->jnt_qposadr[m->dof_jntid[finger_right_dof_]]] = finger_target_;
  d->ctrl[gripper_actuator_] = finger_target_;

  // Colours back to the published ones.
  for (int i = 0; i < 4; ++i) m->geom_rgba[4 * objects_[0].geom + i] = red_rgba_[i];
  if (absl::Status s = Forward(); !s.ok()) return s;

  step_ = 0;
  episode_running_ = true;
  proprio_history_.clear();
  return MakeTimeStep(/*first=*/true);
}

void SawyerEnv::BeforePhysicsStep(const mjModel* m, mjData* d, void* context) {
  const SawyerEnv* self = static_cast<const SawyerEnv*>(context);
  if (!self->config_.gravity_compensation()) return;
  // qfrc_bias of the last forward pass: gravity and Coriolis forces of the arm and fingers.
  for (int i = 0; i < kArmDof; ++i) {
    d->qfrc_applied[self->arm_dof_[i]] = d->qfrc_bias[self->arm_dof_[i]];
  }
  d->qfrc_applied[self->finger_dof_] = d->qfrc_bias[self->finger_dof_];
  d->qfrc_applied[self->finger_right_dof_] = d->qfrc_bias[self->finger_right_dof_];
}

absl::StatusOr<TimeStep> SawyerEnv::Step(absl::Span<const float> action) {
  if (action.size() != kActionSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "action has ", action.size(), " entries, the environment takes ", kActionSize));
  }
  for (int i = 0; i < kActionSize; ++i) {
    if (!std::isfinite(action[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("action[", i, "] is not finite (", action[i], ")"));
    }
  }
  if (!episode_running_) {
    return absl::FailedPreconditionError("Step called before Reset or after the last step");
  }
  std::array<double, kActionSize> a;
  bool clipped = false;
  for (int i = 0; i < kActionSize; ++i) {
    a[i] = std::clamp(static_cast<double>(action[i]), -1.0, 1.0);
    clipped |= a[i] != action[i];
  }
  if (clipped) ++clipped_action_count_;

  const double dt = config_.physics_timestep() * config_.substeps();
  const double half_x = config_.table_width() / 2;
  const double half_y = config_.table_length() / 2;
  const double move = config_.max_tcp_speed() * dt;
  tcp_target_[0] = std::clamp(tcp_target_[0] + a[kActionX] * move, -half_x, half_x);
  tcp_target_[1] = std::clamp(tcp_target_[1] + a[kActionY] * move, -half_y, half_y);
  tcp_target_[2] = std::clamp(tcp_target_[2] + a[kActionZ] * move,
                              scene::kTableTopZ + config_.workspace_min_height(),
                              scene::kTableTopZ + config_.workspace_max_height());
  yaw_target_ =
      std::clamp(yaw_target_ + a[kActionWrist] * config_.max_wrist_speed() * dt, -kMaxYaw, kMaxYaw);
  finger_target_ = std::clamp(finger_target_ - a[kActionGripper] * scene::kFingerStroke * dt /
                                                   config_.gripper_stroke_time(),
                              0.0, scene::kFingerStroke);
  ik_->Solve(tcp_target_, yaw_target_, kIkIterationsPerStep, &joint_target_);

  mjData* d = mutable_data();
  for (int i = 0; i < kArmDof; ++i) d->ctrl[arm_actuators_[i]] = joint_target_[i];
  d->ctrl[gripper_actuator_] = finger_target_;
  if (absl::Status s = StepPhysics(config_.substeps(), &SawyerEnv::BeforePhysicsStep, this);
      !s.ok()) {
    episode_running_ = false;
    return s;
  }
  // mj_step leaves positions one integration ahead of the derived quantities: refresh them so
  // observations, rewards and images describe the same state.
  if (absl::Status s = Forward(); !s.ok()) return s;
  ++step_;

  if (config_.colour_switch() && step_ % config_.colour_switch_period() == 0) {
    const bool show_blue = std::bernoulli_distribution(0.5)(rng_);
    const std::array<float, 4>& rgba = show_blue ? blue_rgba_ : red_rgba_;
    for (int i = 0; i < 4; ++i) mutable_model()->geom_rgba[4 * objects_[0].geom + i] = rgba[i];
  }
  return MakeTimeStep(/*first=*/false);
}

absl::StatusOr<TimeStep> SawyerEnv::MakeTimeStep(bool first) {
  TimeStep ts;
  ts.first = first;
  ts.step = step_;
  ts.last = step_ >= config_.episode_steps();
  if (ts.last) episode_running_ = false;

  const std::array<float, kProprioSize> proprio = CurrentProprio();
  const size_t history = static_cast<size_t>(config_.proprio_delay_steps()) + 1;
  if (proprio_history_.empty()) proprio_history_.assign(history, proprio);
  proprio_history_.push_back(proprio);
  while (proprio_history_.size() > history) proprio_history_.pop_front();
  ts.observation.proprio = proprio_history_.front();

  const mjData* d = data();
  const Vec3 tcp = TcpPosition();
  ts.observation.object_state.reserve(objects_.size() * kObjectFeatureSize);
  for (const ObjectIds& o : objects_) {
    for (int i = 0; i < 7; ++i) ts.observation.object_state.push_back(d->qpos[o.qpos + i]);
    for (int i = 0; i < 6; ++i) ts.observation.object_state.push_back(d->qvel[o.dof + i]);
    for (int i = 0; i < 3; ++i) {
      ts.observation.object_state.push_back(d->xpos[3 * o.body + i] - tcp[i]);
    }
  }

  ts.rewards.assign(spec_.tasks.size(), 0.0f);
  if (!first) {
    const RewardState state = CurrentRewardState();
    for (size_t i = 0; i < task_specs_.size(); ++i) {
      ts.rewards[i] = static_cast<float>(task_specs_[i]->reward(state, config_.reward()));
    }
  }
  ts.reward = ts.rewards[task_index_];

  if (renderer_ != nullptr) {
    ts.observation.pixels.resize(static_cast<size_t>(6) * config_.image_size() *
                                 config_.image_size());
    if (absl::Status s = renderer_->Render(mutable_data(), ts.observation.pixels.data()); !s.ok()) {
      return s;
    }
  }
  return ts;
}

std::array<float, kProprioSize> SawyerEnv::CurrentProprio() const {
  const mjData* d = data();
  std::array<float, kProprioSize> p{};
  for (int i = 0; i < kArmDof; ++i) {
    p[kProprioJointPos + i] = static_cast<float>(d->qpos[arm_qpos_[i]]);
    p[kProprioJointVel + i] = static_cast<float>(d->qvel[arm_dof_[i]]);
  }
  p[kProprioFingerPos] = static_cast<float>(d->qpos[finger_qpos_]);
  p[kProprioFingerVel] = static_cast<float>(d->qvel[finger_dof_]);
  p[kProprioGrasp] = Grasp() ? 1.0f : 0.0f;
  return p;
}

RewardState SawyerEnv::CurrentRewardState() const {
  const mjData* d = data();
  RewardState s;
  s.tcp = TcpPosition();
  auto snapshot = [&](const ObjectIds& o) {
    ObjectSnapshot snap;
    for (int i = 0; i < 3; ++i) {
      snap.position[i] = d->xpos[3 * o.body + i];
      snap.linear_velocity[i] = d->qvel[o.dof + i];
    }
    snap.rest_z = o.rest_z;
    return snap;
  };
  s.red = snapshot(objects_[0]);
  s.blue = snapshot(objects_[1]);
  s.cube_side = config_.cube_side();
  s.grasp = Grasp();
  const RewardConfig& r = config_.reward();
  s.red_target = {r.match_red_target_x(), r.match_red_target_y(), objects_[0].rest_z};
  s.blue_target = {r.match_blue_target_x(), r.match_blue_target_y(), objects_[1].rest_z};
  return s;
}

bool SawyerEnv::Grasp() const {
  const mjModel* m = model();
  const mjData* d = data();
  const double threshold = config_.grasp_force_threshold();
  // Normal force of each pad on each object.
  std::array<double, 3> left{}, right{};
  for (int c = 0; c < d->ncon; ++c) {
    const mjContact& contact = d->contact[c];
    int pad = -1, other = -1;
    if (contact.geom1 == pad_left_geom_ || contact.geom1 == pad_right_geom_) {
      pad = contact.geom1;
      other = contact.geom2;
    } else if (contact.geom2 == pad_left_geom_ || contact.geom2 == pad_right_geom_) {
      pad = contact.geom2;
      other = contact.geom1;
    } else {
      continue;
    }
    for (size_t k = 0; k < objects_.size(); ++k) {
      if (objects_[k].geom != other) continue;
      mjtNum force[6];
      mj_contactForce(m, d, c, force);
      (pad == pad_left_geom_ ? left : right)[k] += std::fabs(force[0]);
    }
  }
  for (size_t k = 0; k < objects_.size(); ++k) {
    if (left[k] > threshold && right[k] > threshold) return true;
  }
  return false;
}

Vec3 SawyerEnv::TcpPosition() const {
  const mjtNum* p = data()->site_xpos + 3 * tcp_site_;
  return {p[0], p[1], p[2]};
}

double SawyerEnv::GripperYaw() const {
  const mjtNum* r = data()->site_xmat + 9 * tcp_site_;
  return std::atan2(r[3], r[0]);  // the site's x axis in the table plane
}

double SawyerEnv::GripperDownCosine() const {
  const mjtNum* r = data()->site_xmat + 9 * tcp_site_;
  return -r[8];  // z axis . (0, 0, -1)
}

Vec3 SawyerEnv::ObjectPosition(ObjectId id) const {
  const mjtNum* p = data()->xpos + 3 * objects_.at(static_cast<int>(id)).body;
  return {p[0], p[1], p[2]};
}

double SawyerEnv::ObjectYaw(ObjectId id) const {
  const mjtNum* r = data()->xmat + 9 * objects_.at(static_cast<int>(id)).body;
  return std::atan2(r[3], r[0]);
}

double SawyerEnv::ObjectRestZ(ObjectId id) const {
  return objects_.at(static_cast<int>(id)).rest_z;
}

double SawyerEnv::FingerOpening() const { return data()->qpos[finger_qpos_]; }

ArmVector SawyerEnv::ArmJointPositions() const {
  ArmVector q;
  for (int i = 0; i < kArmDof; ++i) q[i] = data()->qpos[arm_qpos_[i]];
  return q;
}

}  // namespace ivg::env
