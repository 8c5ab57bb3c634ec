// Real offscreen rendering (Mesa surfaceless here): both cameras see both cubes, the two
// views differ, and observations are reproducible.
#include <cstdlib>

#include "env/sawyer_env.h"
#include "gtest/gtest.h"
#include "tests/env/mujoco_test_fixture.h"

namespace ivg::env {
namespace {

struct Counts {
  int red = 0;
  int blue = 0;
  int yellow = 0;
};

// Pixels of one camera (0 or 1) whose colour is clearly the red, blue or yellow object.
Counts CountColours(const std::vector<uint8_t>& pixels, int size, int camera) {
  const size_t plane = static_cast<size_t>(size) * size;
  const uint8_t* r = pixels.data() + (3 * camera + 0) * plane;
  const uint8_t* g = pixels.data() + (3 * camera + 1) * plane;
  const uint8_t* b = pixels.data() + (3 * camera + 2) * plane;
  Counts c;
  for (size_t i = 0; i < plane; ++i) {
    if (r[i] > 120 && g[i] < 60 && b[i] < 60) ++c.red;
    if (b[i] > 120 && r[i] < 60 && g[i] < 100) ++c.blue;
    if (r[i] > 150 && g[i] > 140 && b[i] < 60) ++c.yellow;
  }
  return c;
}

class Rendering : public MujocoTest {};

TEST_F(Rendering, EachCameraShowsBothCubesAtReset) {
  EnvConfig config;
  auto env = SawyerEnv::Create(config);
  ASSERT_TRUE(env.ok()) << env.status();
  const int size = config.image_size();
  for (uint64_t seed = 0; seed < 5; ++seed) {
    auto ts = (*env)->Reset(seed);
    ASSERT_TRUE(ts.ok()) << ts.status();
    ASSERT_EQ(ts->observation.pixels.size(), static_cast<size_t>(6 * size * size));
    for (int camera = 0; camera < 2; ++camera) {
      const Counts c = CountColours(ts->observation.pixels, size, camera);
      EXPECT_GE(c.red, 8) << "seed " << seed << " camera " << camera;
      EXPECT_GE(c.blue, 8) << "seed " << seed << " camera " << camera;
      EXPECT_EQ(c.yellow, 0) << "seed " << seed << " camera " << camera;
    }
  }
}

TEST_F(Rendering, CamerasShowDifferentViews) {
  EnvConfig config;
  auto env = SawyerEnv::Create(config);
  ASSERT_TRUE(env.ok()) << env.status();
  auto ts = (*env)->Reset(11);
  ASSERT_TRUE(ts.ok());
  const size_t n = static_cast<size_t>(3) * config.image_size() * config.image_size();
  const std::vector<uint8_t>& p = ts->observation.pixels;
  size_t different = 0;
  for (size_t i = 0; i < n; ++i) different += std::abs(p[i] - p[n + i]) > 20;
  EXPECT_GT(different, n / 10);
}

TEST_F(Rendering, SameSeedAndActionsGiveIdenticalObservations) {
  EnvConfig config;
  auto a = SawyerEnv::Create(config);
  auto b = SawyerEnv::Create(config);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ta = (*a)->Reset(42);
  auto tb = (*b)->Reset(42);
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(ta->observation.pixels, tb->observation.pixels);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int i = 0; i < 30; ++i) {
    const std::array<float, 5> action = {u(rng), u(rng), u(rng), u(rng), u(rng)};
    ta = (*a)->Step(action);
    tb = (*b)->Step(action);
    ASSERT_TRUE(ta.ok() && tb.ok());
    ASSERT_EQ(ta->observation.pixels, tb->observation.pixels) << "step " << i;
    ASSERT_EQ(ta->observation.proprio, tb->observation.proprio) << "step " << i;
    ASSERT_EQ(ta->rewards, tb->rewards);
  }
  // A different seed gives a different scene.
  auto tc = (*b)->Reset(43);
  ta = (*a)->Reset(42);
  ASSERT_TRUE(tc.ok() && ta.ok());
  EXPECT_NE(ta->observation.pixels, tc->observation.pixels);
}

TEST_F(Rendering, DistractorIsVisible) {
  for (Distractor distractor : {DISTRACTOR_YELLOW_CUBE, DISTRACTOR_YELLOW_BALL}) {
    EnvConfig config;
    config.set_distractor(distractor);
    auto env = SawyerEnv::Create(config);
    ASSERT_TRUE(env.ok()) << env.status();
    auto ts = (*env)->Reset(2);
    ASSERT_TRUE(ts.ok());
    EXPECT_EQ(ts->observation.object_state.size(), 3u * kObjectFeatureSize);
    int yellow = 0;
    for (int camera = 0; camera < 2; ++camera) {
      yellow += CountColours(ts->observation.pixels, config.image_size(), camera).yellow;
    }
    EXPECT_GE(yellow, 4) << Distractor_Name(distractor);
  }
}

TEST_F(Rendering, ColourSwitchRepaintsTheRedBlockBlueAtRandom) {
  EnvConfig config;
  config.set_colour_switch(true);
  auto env = SawyerEnv::Create(config);
  ASSERT_TRUE(env.ok()) << env.status();
  auto ts = (*env)->Reset(4);
  ASSERT_TRUE(ts.ok());
  int frames_without_red = 0, frames_with_red = 0;
  int last_change = -1, changes = 0;
  bool previous_red = true;
  for (int i = 0; i < 40; ++i) {
    ts = (*env)->Step({0, 0, 0, 0, 0});
    ASSERT_TRUE(ts.ok());
    const bool red = CountColours(ts->observation.pixels, config.image_size(), 0).red > 0;
    (red ? frames_with_red : frames_without_red)++;
    if (red != previous_red) {
      ++changes;
      // Colours change only on multiples of the period.
      EXPECT_EQ(ts->step % config.colour_switch_period(), 0);
      last_change = ts->step;
    }
    previous_red = red;
  }
  EXPECT_GT(frames_without_red, 0);
  EXPECT_GT(frames_with_red, 0);
  EXPECT_GT(changes, 1);
  EXPECT_GE(last_change, 0);
}

TEST_F(Rendering, ReportsTheChosenDevice) {
  EnvConfig config;
  config.set_render_device(RENDER_DEVICE_MESA);
  auto env = SawyerEnv::Create(config);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_NE((*env)->render_device().find("mesa"), std::string::npos) << (*env)->render_device();
}

}  // namespace
}  // namespace ivg::env

namespace ivg::env {
namespace {

// This machine has no NVIDIA EGL device: asking for one explicitly is a clear error, while
// AUTO falls back to Mesa. (On an NVIDIA machine the first expectation does not apply.)
TEST_F(Rendering, NvidiaRequestWithoutNvidiaDeviceIsAnErrorAndAutoFallsBack) {
  EnvConfig config;
  config.set_render_device(RENDER_DEVICE_AUTO);
  auto automatic = SawyerEnv::Create(config);
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  if ((*automatic)->render_device().find("nvidia") != std::string::npos) {
    GTEST_SKIP() << "an NVIDIA EGL device is present";
  }
  config.set_render_device(RENDER_DEVICE_NVIDIA);
  auto nvidia = SawyerEnv::Create(config);
  ASSERT_FALSE(nvidia.ok());
  EXPECT_EQ(nvidia.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(nvidia.status().message().find("env.render_device"), std::string::npos)
      << nvidia.status();
}

}  // namespace
}  // namespace ivg::env
