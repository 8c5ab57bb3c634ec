// The task table (env/task_table.h): one row per implemented task, each complete, and the
// values every user of a task reads from it.
#include "env/task_table.h"

#include <set>

#include "env/reward_terms.h"
#include "env/scripted_policies.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg::env {
namespace {

using ::testing::HasSubstr;

TEST(TaskTable, EveryTaskOfTheEnumHasOneCompleteRowInEnumOrder) {
  std::set<int> seen;
  int previous = TASK_UNSPECIFIED;
  for (const TaskSpec& row : AllTasks()) {
    EXPECT_GT(static_cast<int>(row.task), previous) << row.name;
    previous = row.task;
    EXPECT_TRUE(seen.insert(row.task).second) << row.name;
    EXPECT_STRNE(row.name, "");
    EXPECT_NE(row.reward, nullptr) << row.name;
    EXPECT_NE(row.success_return_per_200, nullptr) << row.name;
    EXPECT_GT(row.max_step_reward, 0) << row.name;
    ASSERT_NE(row.scripted, nullptr) << row.name;
    EXPECT_NE(row.scripted(RewardConfig()), nullptr) << row.name;
    absl::StatusOr<const TaskSpec*> found = FindTask(row.task);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(*found, &row);
  }
  // Every value of the enum but TASK_UNSPECIFIED is a task of this environment.
  for (int t = Task_MIN; t <= Task_MAX; ++t) {
    if (!Task_IsValid(t) || t == TASK_UNSPECIFIED) continue;
    EXPECT_EQ(seen.count(t), 1u) << Task_Name(static_cast<Task>(t)) << " has no row";
  }
}

TEST(TaskTable, AnUnimplementedTaskIsAnErrorNamingIt) {
  absl::StatusOr<const TaskSpec*> found = FindTask(TASK_UNSPECIFIED);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(found.status().message(), HasSubstr("TASK_UNSPECIFIED"));
  EXPECT_FALSE(FindTask(static_cast<Task>(99)).ok());
}

TEST(TaskTable, RewardsComposeTheTermsOfTheirFamily) {
  RewardConfig config;
  RewardState s;
  s.tcp = {0, 0, 0.2};
  s.red = {{0, 0, 0.2}, {0, 0, 0}, 0.025};
  s.blue = {{0.2, 0, 0.025}, {0.3, 0, 0}, 0.025};
  s.grasp = true;
  s.red_target = {0.1, -0.08, 0.025};
  s.blue_target = {-0.1, 0.08, 0.025};
  EXPECT_DOUBLE_EQ(TaskSpecOf(REACH_RED).reward(s, config), 1.0);
  EXPECT_DOUBLE_EQ(TaskSpecOf(REACH_BLUE).reward(s, config),
                   Reach(s.tcp, s.blue.position, config));
  EXPECT_DOUBLE_EQ(TaskSpecOf(LIFT_RED).reward(s, config), 2.0);
  EXPECT_DOUBLE_EQ(TaskSpecOf(LIFT_BLUE).reward(s, config),
                   Lift(s.tcp, s.blue.position, 0.025, true, config));
  EXPECT_DOUBLE_EQ(TaskSpecOf(MOVE_BLUE).reward(s, config), 1.0);
  EXPECT_DOUBLE_EQ(TaskSpecOf(STACK_RED).reward(s, config),
                   Stack(s.tcp, s.red.position, 0.025, s.blue.position, 0.05, true, config));
  EXPECT_DOUBLE_EQ(TaskSpecOf(STACK_BLUE).reward(s, config),
                   Stack(s.tcp, s.blue.position, 0.025, s.red.position, 0.05, true, config));
  EXPECT_DOUBLE_EQ(TaskSpecOf(MATCH_POSITIONS).reward(s, config),
                   MatchPositions(s.red.position, s.red_target, s.blue.position, s.blue_target,
                                  config));
}

TEST(TaskTable, ReachAndLiftHaveATargetObjectTheOthersNone) {
  EXPECT_EQ(TaskSpecOf(REACH_RED).target_object, ObjectId::kRed);
  EXPECT_EQ(TaskSpecOf(LIFT_RED).target_object, ObjectId::kRed);
  EXPECT_EQ(TaskSpecOf(REACH_BLUE).target_object, ObjectId::kBlue);
  EXPECT_EQ(TaskSpecOf(LIFT_BLUE).target_object, ObjectId::kBlue);
  EXPECT_FALSE(TaskSpecOf(STACK_RED).target_object.has_value());
  EXPECT_FALSE(TaskSpecOf(MATCH_POSITIONS).target_object.has_value());
  EXPECT_FALSE(TaskSpecOf(MOVE_BLUE).target_object.has_value());
}

TEST(TaskTable, MaxStepRewardIsOneForReachAndMoveAndTwoForLiftStackAndMatch) {
  // The largest value each task's reward can take (reward_terms.h): the video's full bar.
  EXPECT_EQ(TaskSpecOf(REACH_RED).max_step_reward, 1.0);
  EXPECT_EQ(TaskSpecOf(MOVE_BLUE).max_step_reward, 1.0);
  EXPECT_EQ(TaskSpecOf(LIFT_RED).max_step_reward, 2.0);
  EXPECT_EQ(TaskSpecOf(STACK_BLUE).max_step_reward, 2.0);
  EXPECT_EQ(TaskSpecOf(MATCH_POSITIONS).max_step_reward, 2.0);
}

TEST(TaskTable, SuccessReturnIsPerTwoHundredStepsScaledWithTheEpisodeLength) {
  ExperimentConfig config;
  config.mutable_eval()->set_lift_success_return(300);
  config.mutable_eval()->set_reach_success_return(100);
  config.mutable_env()->set_episode_steps(100);
  EXPECT_DOUBLE_EQ(SuccessReturn(TaskSpecOf(LIFT_BLUE), config), 150);
  EXPECT_DOUBLE_EQ(SuccessReturn(TaskSpecOf(REACH_RED), config), 50);
  EXPECT_TRUE(IsSuccess(TaskSpecOf(REACH_RED), config, 50.5));
  EXPECT_FALSE(IsSuccess(TaskSpecOf(REACH_RED), config, 50));  // strictly above
  config.mutable_eval()->set_stack_success_return(140);
  config.mutable_eval()->set_match_positions_success_return(180);
  config.mutable_eval()->set_move_success_return(120);
  config.mutable_env()->set_episode_steps(200);
  EXPECT_DOUBLE_EQ(SuccessReturn(TaskSpecOf(STACK_RED), config), 140);
  EXPECT_DOUBLE_EQ(SuccessReturn(TaskSpecOf(MATCH_POSITIONS), config), 180);
  EXPECT_DOUBLE_EQ(SuccessReturn(TaskSpecOf(MOVE_BLUE), config), 120);
}

TEST(TaskTable, ScriptedTaskPolicyForTaskReadsTheTable) {
  EXPECT_NE(ScriptedTaskPolicy::ForTask(STACK_BLUE), nullptr);
  EXPECT_EQ(ScriptedTaskPolicy::ForTask(TASK_UNSPECIFIED), nullptr);
}

}  // namespace
}  // namespace ivg::env
