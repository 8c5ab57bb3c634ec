// TCP velocity control through IK: commanded motion happens, the gripper stays pointing
// down, joints stay inside their ranges.
#include <algorithm>
#include <cmath>
#include <random>

#include "env/sawyer_env.h"
#include "gtest/gtest.h"
#include "tests/env/mujoco_test_fixture.h"

namespace ivg::env {
namespace {

class Control : public MujocoTest {
 protected:
  void SetUp() override {
    MujocoTest::SetUp();
    EnvConfig config;
    // The start height is fixed so that every commanded motion stays in free space.
    config.set_start_height_min(0.18);
    config.set_start_height_max(0.18);
    auto env = SawyerEnv::Create(config, EnvOptions{/*render=*/false});
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }
  std::unique_ptr<SawyerEnv> env_;
};

struct Direction {
  const char* name;
  std::array<float, 3> unit;
};

TEST_F(Control, ConstantTcpVelocityMovesTheTcpInTheCommandedDirection) {
  const EnvConfig& c = env_->spec().config;
  const double dt = c.physics_timestep() * c.substeps();
  constexpr int kSteps = 8;
  const Direction directions[] = {{"+x", {1, 0, 0}},
                                  {"-x", {-1, 0, 0}},
                                  {"+y", {0, 1, 0}},
                                  {"-y", {0, -1, 0}},
                                  {"+z", {0, 0, 1}},
                                  {"-z", {0, 0, -1}},
                                  {"diagonal", {0.577f, -0.577f, 0.577f}}};
  uint64_t seed = 0;
  for (const Direction& dir : directions) {
    for (float magnitude : {0.5f, 1.0f}) {
      SCOPED_TRACE(std::string(dir.name) + " at " + std::to_string(magnitude));
      ASSERT_TRUE(env_->Reset(seed++).ok());
      // Start from above the middle of the table so no command reaches the workspace bounds.
      for (int i = 0; i < 40; ++i) {
        const Vec3 t = env_->TcpTarget();
        const double step = c.max_tcp_speed() * dt;
        ASSERT_TRUE(
            env_->Step({static_cast<float>(std::clamp(-t[0] / step, -1.0, 1.0)),
                        static_cast<float>(std::clamp(-t[1] / step, -1.0, 1.0)),
                        static_cast<float>(std::clamp((0.18 - t[2]) / step, -1.0, 1.0)), 0, 0})
                .ok());
      }
      const Vec3 start = env_->TcpPosition();
      std::array<float, 5> action = {magnitude * dir.unit[0], magnitude * dir.unit[1],
                                     magnitude * dir.unit[2], 0, 0};
      // Keep the motion inside the workspace box: skip commands that would leave it.
      const double distance = magnitude * c.max_tcp_speed() * dt * kSteps;
      const Vec3 end = {start[0] + distance * dir.unit[0], start[1] + distance * dir.unit[1],
                        start[2] + distance * dir.unit[2]};
      ASSERT_LT(std::fabs(end[0]), c.table_width() / 2);
      ASSERT_LT(std::fabs(end[1]), c.table_length() / 2);
      for (int i = 0; i < kSteps; ++i) ASSERT_TRUE(env_->Step(action).ok());
      // Let the servos settle with zero command.
      for (int i = 0; i < 4; ++i) ASSERT_TRUE(env_->Step({0, 0, 0, 0, 0}).ok());
      const Vec3 now = env_->TcpPosition();
      const Vec3 moved = {now[0] - start[0], now[1] - start[1], now[2] - start[2]};
      const double along = moved[0] * dir.unit[0] + moved[1] * dir.unit[1] + moved[2] * dir.unit[2];
      const double total =
          std::sqrt(moved[0] * moved[0] + moved[1] * moved[1] + moved[2] * moved[2]);
      EXPECT_GE(along, 0.9 * distance) << "moved " << along << " of " << distance;
      EXPECT_LE(along, 1.1 * distance);
      // Little motion off the commanded axis.
      EXPECT_LT(std::sqrt(std::max(0.0, total * total - along * along)), 0.1 * distance + 0.003);
      EXPECT_GT(env_->GripperDownCosine(), std::cos(5.0 * M_PI / 180));
    }
  }
}

TEST_F(Control, WristCommandRotatesTheGripperAboutTheVertical) {
  ASSERT_TRUE(env_->Reset(7).ok());
  const double yaw0 = env_->GripperYaw();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(env_->Step({0, 0, 0, 0, 1}).ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(env_->Step({0, 0, 0, 0, 0}).ok());
  const double commanded = 10 * env_->spec().config.max_wrist_speed() * 0.05;
  EXPECT_NEAR(env_->GripperYaw() - yaw0, commanded, 0.1 * commanded);
  EXPECT_GT(env_->GripperDownCosine(), std::cos(5.0 * M_PI / 180));
}

TEST_F(Control, GripperOpensAndClosesOverItsStroke) {
  ASSERT_TRUE(env_->Reset(3).ok());
  EXPECT_NEAR(env_->FingerOpening(), 0.0425, 1e-3);
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(env_->Step({0, 0, 0, 1, 0}).ok());
  EXPECT_LT(env_->FingerOpening(), 0.003);
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(env_->Step({0, 0, 0, -1, 0}).ok());
  EXPECT_GT(env_->FingerOpening(), 0.04);
}

TEST_F(Control, RandomActionsKeepJointsInRangeAndTcpInTheWorkspace) {
  const EnvConfig& c = env_->spec().config;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.5f, 1.5f);
  for (uint64_t seed = 0; seed < 3; ++seed) {
    auto ts = env_->Reset(seed);
    ASSERT_TRUE(ts.ok());
    // Persistent pushes towards the workspace corners, then random actions.
    std::array<float, 5> push = {u(rng), u(rng), u(rng), u(rng), u(rng)};
    while (!ts->last) {
      std::array<float, 5> a = push;
      if (ts->step % 40 == 39) push = {u(rng), u(rng), u(rng), u(rng), u(rng)};
      ts = env_->Step(a);
      ASSERT_TRUE(ts.ok()) << ts.status();
      const ArmVector q = env_->ArmJointPositions();
      for (int j = 0; j < kArmDof; ++j) {
        EXPECT_GE(q[j], env_->ik().lower()[j] - 0.03) << "joint " << j;
        EXPECT_LE(q[j], env_->ik().upper()[j] + 0.03) << "joint " << j;
      }
      const Vec3 target = env_->TcpTarget();
      EXPECT_LE(std::fabs(target[0]), c.table_width() / 2 + 1e-9);
      EXPECT_LE(std::fabs(target[1]), c.table_length() / 2 + 1e-9);
      EXPECT_GE(target[2], c.workspace_min_height() - 1e-9);
      EXPECT_LE(target[2], c.workspace_max_height() + 1e-9);
    }
  }
  EXPECT_GT(env_->clipped_action_count(), 0);
}

}  // namespace
}  // namespace ivg::env
