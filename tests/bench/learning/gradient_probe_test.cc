// ivg_gradient_probe run as a user runs it: on a run directory holding a config and a learner
// checkpoint (here a fresh core of the smoke profile's sizes, saved the way the learner saves).
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/config/model_config.h"
#include "model/core/learner_core.h"
#include "tests/testing/subprocess.h"

namespace ivg {
namespace {

using ::testing::HasSubstr;

class GradientProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_dir_ = std::filesystem::path(::testing::TempDir()) / "gradient_probe_run";
    std::filesystem::create_directories(run_dir_);
    auto config =
        LoadExperimentConfig(std::string(IVG_SOURCE_DIR) + "/configs/smoke.textproto", {});
    ASSERT_TRUE(config.ok()) << config.status();
    std::ofstream(run_dir_ / "config.textproto") << ConfigToText(*config);
    auto options = model::CoreOptionsFromConfig(*config);
    ASSERT_TRUE(options.ok()) << options.status();
    options->use_cuda_if_available = false;
    auto core = model::LearnerCore::Create(*options);
    ASSERT_TRUE(core.ok()) << core.error();
    const model::Error saved =
        core.value()->SaveCheckpoint((run_dir_ / "checkpoint_rank0.pt").string(), "test");
    ASSERT_FALSE(saved.has_value()) << *saved;
  }

  testing::CommandResult Probe(const std::string& flags) const {
    return testing::RunCommand(absl::StrCat(IVG_BINARY_DIR,
                                            "/bench/learning/ivg_gradient_probe --run_dir=",
                                            run_dir_.string(), " ", flags, " 2>&1"));
  }

  std::filesystem::path run_dir_;
};

TEST_F(GradientProbeTest, ReportsEveryDistanceBucketAndThePolicyOnlyOptimisation) {
  const auto result = Probe("--episodes=2 --optimize_steps=2 --optimize_eval_episodes=1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* row : {"3-8 cm", "8-15 cm", "15-25 cm", ">= 25 cm", "cos_L@mu",
                          "policy mean per action dimension",
                          "learner objective's d/d mu per action dimension",
                          "policy as trained: 1 episodes", "policy alone on",
                          "policy after --optimize_steps: 1 episodes"}) {
    EXPECT_THAT(result.output, HasSubstr(row));
  }
}

TEST_F(GradientProbeTest, PlaysTheTrainedPolicyWhenAsked) {
  const auto result = Probe("--episodes=1 --behaviour=policy");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr(">= 25 cm"));
}

TEST_F(GradientProbeTest, BadArgumentsAreNamed) {
  auto result = Probe("--task_index=3");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("--task_index 3 is outside [0, 1)"));
  result = Probe("--behaviour=greedy");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("--behaviour"));
  result = Probe("--checkpoint=missing.pt");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("missing.pt"));
}

}  // namespace
}  // namespace ivg
