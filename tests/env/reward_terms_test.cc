// Exact values of the reward terms (docs/environment.md "Reward terms").
#include "env/reward_terms.h"

#include <cmath>

#include "gtest/gtest.h"

namespace ivg::env {
namespace {

TEST(Tol, IsOneInsideTheToleranceAndPointZeroFiveAtTheMargin) {
  EXPECT_DOUBLE_EQ(Tol(0.0, 0.02, 0.15), 1.0);
  EXPECT_DOUBLE_EQ(Tol(0.0199, 0.02, 0.15), 1.0);
  EXPECT_DOUBLE_EQ(Tol(-0.0199, 0.02, 0.15), 1.0);
  EXPECT_NEAR(Tol(0.15, 0.02, 0.15), 0.05, 1e-12);
  EXPECT_NEAR(Tol(-0.15, 0.02, 0.15), 0.05, 1e-12);
  EXPECT_NEAR(Tol(0.3, 0.1, 0.3), 0.05, 1e-12);
  // Outside the tolerance it follows 1 - tanh^2 and decreases.
  const double k = std::atanh(std::sqrt(0.95));
  EXPECT_NEAR(Tol(0.05, 0.02, 0.15), 1 - std::pow(std::tanh(k * 0.05 / 0.15), 2), 1e-12);
  EXPECT_GT(Tol(0.05, 0.02, 0.15), Tol(0.1, 0.02, 0.15));
  EXPECT_LT(Tol(1.0, 0.02, 0.15), 1e-6);
}

TEST(Lin, ReachesItsEndpointsAndIsLinearBetween) {
  EXPECT_DOUBLE_EQ(Lin(0.0, 0.03, 0.10), 0.0);
  EXPECT_DOUBLE_EQ(Lin(0.03, 0.03, 0.10), 0.0);
  EXPECT_DOUBLE_EQ(Lin(0.10, 0.03, 0.10), 1.0);
  EXPECT_DOUBLE_EQ(Lin(0.5, 0.03, 0.10), 1.0);
  EXPECT_NEAR(Lin(0.065, 0.03, 0.10), 0.5, 1e-12);
}

TEST(Lift, IsAtMostTwoAndTwoWhenHeldHighAtTheTcp) {
  RewardConfig config;
  const Vec3 cube = {0.1, 0.0, 0.025 + 0.2};
  EXPECT_DOUBLE_EQ(Lift(cube, cube, 0.025, /*grasp=*/true, config), 2.0);
  for (double z : {0.0, 0.05, 0.1, 0.5}) {
    for (double d : {0.0, 0.1, 1.0}) {
      for (bool grasp : {false, true}) {
        const double v = Lift({0.1 + d, 0, 0.025 + z}, {0.1, 0, 0.025 + z}, 0.025, grasp, config);
        EXPECT_LE(v, 2.0);
        EXPECT_GE(v, 0.0);
      }
    }
  }
  // On the table, not grasped, TCP at the cube: only REACH.
  EXPECT_DOUBLE_EQ(Lift({0, 0, 0.025}, {0, 0, 0.025}, 0.025, false, config), 1.0);
  // GRASP and HEIGHT each add half.
  EXPECT_DOUBLE_EQ(Lift({0, 0, 0.025}, {0, 0, 0.025}, 0.025, true, config), 1.5);
}

TEST(Stack, SwitchesFromLiftToStackedAtHeightPointEight) {
  RewardConfig config;
  const double rest = 0.025;
  const Vec3 base = {0.0, 0.0, 0.025};
  // HEIGHT = 0.8 exactly at z - rest = 0.03 + 0.8 * 0.07 = 0.086: still LIFT.
  const Vec3 at_switch = {0.0, 0.0, rest + 0.086};
  EXPECT_NEAR(Height(at_switch[2], rest, config), 0.8, 1e-9);
  const Vec3 tcp = at_switch;
  EXPECT_DOUBLE_EQ(Stack(tcp, at_switch, rest, base, 0.05, true, config),
                   Lift(tcp, at_switch, rest, true, config));
  // Just above: STACKED = ABOVE * NOTGRASP, zero while grasped.
  const Vec3 above_switch = {0.0, 0.0, rest + 0.09};
  EXPECT_DOUBLE_EQ(Stack(tcp, above_switch, rest, base, 0.05, true, config), 0.0);
  const double stacked = Stack(tcp, above_switch, rest, base, 0.05, false, config);
  EXPECT_DOUBLE_EQ(stacked, Above(above_switch, rest, base, 0.05, config));
  // ABOVE measures the distance to one cube side above the base's centre.
  EXPECT_NEAR(stacked, Tol(0.09 - 0.05, 0.02, 0.15) * Height(above_switch[2], rest, config), 1e-12);
}

TEST(Terms, GraspMatchPositionsAndMove) {
  RewardConfig config;
  EXPECT_EQ(Grasp(true), 1.0);
  EXPECT_EQ(NotGrasp(true), 0.0);
  EXPECT_EQ(NotGrasp(false), 1.0);
  const Vec3 t1 = {0.1, -0.08, 0.025}, t2 = {-0.1, 0.08, 0.025};
  EXPECT_DOUBLE_EQ(MatchPositions(t1, t1, t2, t2, config), 2.0);
  EXPECT_NEAR(MatchPositions({0.1, -0.08 + 0.15, 0.025}, t1, t2, t2, config), 1.05, 1e-12);
  EXPECT_DOUBLE_EQ(Move({0.3, 0, 0}, config), 1.0);
  EXPECT_NEAR(Move({0, 0, 0}, config), 0.05, 1e-12);  // | 0 - 0.3 | = margin
  EXPECT_NEAR(Reach({0, 0, 0}, {0.15, 0, 0}, config), 0.05, 1e-12);
}

}  // namespace
}  // namespace ivg::env
