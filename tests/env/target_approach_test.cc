// The heading cosine and closest approach the evaluator reports per episode
// (env/target_approach.h).
#include "env/target_approach.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace ivg::env {
namespace {

const env::Vec3 kCube = {0.1, -0.05, 0.025};

// The TCP 20 cm above the cube, then commands straight down, straight up and sideways.
TEST(TargetApproach, CosineIsOneStraightAtTheTargetMinusOneAwayZeroAcross) {
  const env::Vec3 above = {kCube[0], kCube[1], kCube[2] + 0.2};
  TargetApproach down;
  down.Observe(above, kCube, {0, 0, -1, 0, 0});
  EXPECT_NEAR(down.heading_cosine(), 1.0, 1e-12);
  TargetApproach up;
  up.Observe(above, kCube, {0, 0, 0.3f, 1, 1});
  EXPECT_NEAR(up.heading_cosine(), -1.0, 1e-12);
  TargetApproach across;
  across.Observe(above, kCube, {1, -1, 0, 0, 0});
  EXPECT_NEAR(across.heading_cosine(), 0.0, 1e-12);
  EXPECT_NEAR(across.closest_distance(), 0.2, 1e-12);
}

TEST(TargetApproach, CommandsAreClippedToTheBoundsAsTheEnvironmentClipsThem) {
  // The cube 10 cm along +x and 10 cm along +z from the TCP: (-5, 0, -1) clips to
  // (-1, 0, -1), exactly away from it (unclipped the cosine would be -0.83).
  const env::Vec3 tcp = {kCube[0] - 0.1, kCube[1], kCube[2] - 0.1};
  TargetApproach approach;
  approach.Observe(tcp, kCube, {-5, 0, -1, 0, 0});
  EXPECT_NEAR(approach.heading_cosine(), -1.0, 1e-12);
}

TEST(TargetApproach, StepsAtTheTargetAndStillCommandsCountOnlyForTheClosestApproach) {
  TargetApproach approach;
  EXPECT_TRUE(std::isnan(approach.heading_cosine()));
  EXPECT_TRUE(std::isnan(approach.closest_distance()));
  const env::Vec3 at_cube = {kCube[0] + 0.01, kCube[1], kCube[2]};
  approach.Observe(at_cube, kCube, {1, 0, 0, 0, 0});  // away, but it is already there
  approach.Observe({kCube[0] + 0.3, kCube[1], kCube[2]}, kCube, {0, 0, 0, 1, 1});
  approach.Observe({kCube[0] + 0.3, kCube[1], kCube[2]}, kCube,
                   {std::nanf(""), 0, 0, 0, 0});
  EXPECT_TRUE(std::isnan(approach.heading_cosine()));
  EXPECT_NEAR(approach.closest_distance(), 0.01, 1e-12);
  // Two counted steps average: straight at it (1) and across (0).
  approach.Observe({kCube[0] + 0.3, kCube[1], kCube[2]}, kCube, {-1, 0, 0, 0, 0});
  approach.Observe({kCube[0] + 0.3, kCube[1], kCube[2]}, kCube, {0, 1, 0, 0, 0});
  EXPECT_NEAR(approach.heading_cosine(), 0.5, 1e-12);
  approach.ObserveFinal(kCube, kCube);
  EXPECT_DOUBLE_EQ(approach.closest_distance(), 0.0);
}

}  // namespace
}  // namespace ivg::env
