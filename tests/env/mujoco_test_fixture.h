// A test fixture that fails the test when MuJoCo reports any warning while it runs.
#ifndef IVG_TESTS_SERVICES_ACTOR_ENV_MUJOCO_TEST_FIXTURE_H_
#define IVG_TESTS_SERVICES_ACTOR_ENV_MUJOCO_TEST_FIXTURE_H_

#include "absl/strings/str_join.h"
#include "env/mujoco_handles.h"
#include "gtest/gtest.h"

namespace ivg::env {

class MujocoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InstallMujocoHandlers();
    ClearMujocoWarnings();
  }
  void TearDown() override {
    EXPECT_EQ(MujocoWarningCount(), 0)
        << "MuJoCo warned: " << absl::StrJoin(MujocoWarnings(), "; ");
  }
};

// Environment configuration with the paper's defaults.
inline EnvConfig DefaultEnvConfig() { return EnvConfig(); }

}  // namespace ivg::env

#endif  // IVG_TESTS_SERVICES_ACTOR_ENV_MUJOCO_TEST_FIXTURE_H_
