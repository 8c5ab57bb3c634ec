#include "services/launcher/cluster_plan.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ivg::launcher {
namespace {

TEST(LearnerThreads, LearnersShareTheCoresWithoutOversubscribing) {
  EXPECT_EQ(LearnerThreads(/*cores=*/2, /*num_learners=*/2), 1);
  EXPECT_EQ(LearnerThreads(16, 2), 8);
  EXPECT_EQ(LearnerThreads(16, 3), 5);
  EXPECT_EQ(LearnerThreads(1, 2), 1);  // Never 0 threads.
  EXPECT_EQ(LearnerThreads(4, 0), 4);
}

TEST(AvailableCores, IsPositive) { EXPECT_GE(AvailableCores(), 1); }

// A binary directory holding an executable stand-in for every service the plan names.
std::string FakeBinaryDir() {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/cluster_plan_bin");
  std::filesystem::create_directories(dir);
  for (const char* name : {"ivg_replay_server", "ivg_param_server", "ivg_learner", "ivg_actor",
                           "ivg_evaluator"}) {
    const std::string path = absl::StrCat(dir, "/", name);
    std::ofstream(path) << "#!/bin/sh\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  }
  return dir;
}

TEST(PlanCluster, TheLearnersRestartAsOneGroupAndNothingElseIsGrouped) {
  ExperimentConfig config;
  config.mutable_learner()->set_num_learners(2);
  config.mutable_actor()->set_num_actors(2);
  LaunchOptions options;
  options.binary_dir = FakeBinaryDir();
  options.run_dir = absl::StrCat(::testing::TempDir(), "/cluster_plan_run");
  options.config_path = options.run_dir + "/config.textproto";
  auto plan = PlanCluster(config, options, /*pick_free_ports=*/true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  int learners = 0;
  for (const ProcessSpec& spec : plan->processes) {
    const bool learner = spec.name.rfind("learner-", 0) == 0;
    learners += learner ? 1 : 0;
    EXPECT_EQ(spec.restart_group, learner ? "learners" : "") << spec.name;
  }
  EXPECT_EQ(learners, 2);
}

}  // namespace
}  // namespace ivg::launcher
