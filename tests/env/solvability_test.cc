// The tasks are solvable with this gripper and controller: scripted controllers reach the
// paper's success returns (Lift > 300, Stack > 140) and this project's (Match-Positions > 200,
// Move > 100, configs/README.md) on most seeds.
#include <cstdio>
#include <vector>

#include "env/sawyer_env.h"
#include "env/scripted_policies.h"
#include "gtest/gtest.h"
#include "tests/env/mujoco_test_fixture.h"

namespace ivg::env {
namespace {

class Solvability : public MujocoTest {};

template <typename Policy>
double EpisodeReturn(SawyerEnv& env, Policy& policy, uint64_t seed) {
  policy.Reset();
  auto ts = env.Reset(seed);
  EXPECT_TRUE(ts.ok()) << ts.status();
  double total = 0;
  while (ts.ok() && !ts->last) {
    ts = env.Step(policy.Act(env));
    EXPECT_TRUE(ts.ok()) << ts.status();
    if (ts.ok()) total += ts->reward;
  }
  return total;
}

TEST_F(Solvability, ScriptedLiftSucceedsOnLiftRedInMostSeeds) {
  EnvConfig config;
  config.set_task(LIFT_RED);
  auto env = SawyerEnv::Create(config, EnvOptions{/*render=*/false});
  ASSERT_TRUE(env.ok()) << env.status();
  ScriptedLiftPolicy policy(ObjectId::kRed);
  int successes = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const double total = EpisodeReturn(**env, policy, seed);
    std::printf("Lift-R seed %llu return %.1f\n", static_cast<unsigned long long>(seed), total);
    if (total > 300) ++successes;
  }
  EXPECT_GE(successes, 8);
}

TEST_F(Solvability, ScriptedStackSucceedsOnStackRedInMostSeeds) {
  EnvConfig config;
  config.set_task(STACK_RED);
  auto env = SawyerEnv::Create(config, EnvOptions{/*render=*/false});
  ASSERT_TRUE(env.ok()) << env.status();
  ScriptedPlacePolicy policy = ScriptedPlacePolicy::Onto(ObjectId::kRed, ObjectId::kBlue);
  int successes = 0;
  int stacked = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const double total = EpisodeReturn(**env, policy, seed);
    const Vec3 red = (*env)->ObjectPosition(ObjectId::kRed);
    const Vec3 blue = (*env)->ObjectPosition(ObjectId::kBlue);
    const bool on_top =
        red[2] > blue[2] + 0.04 && std::hypot(red[0] - blue[0], red[1] - blue[1]) < 0.025;
    std::printf("Stack-R seed %llu return %.1f red on blue %d\n",
                static_cast<unsigned long long>(seed), total, on_top ? 1 : 0);
    if (total > 140) ++successes;
    if (on_top) ++stacked;
  }
  EXPECT_GE(successes, 6);
  // The return alone is dominated by LIFT: also require that the cube ends up on the other.
  EXPECT_GE(stacked, 6);
}

// Episode returns of the task's scripted controller (ScriptedTaskPolicy, as the evaluator
// uses it) over seeds 0..9.
std::vector<double> ScriptedReturns(Task task) {
  EnvConfig config;
  config.set_task(task);
  auto env = SawyerEnv::Create(config, EnvOptions{/*render=*/false});
  EXPECT_TRUE(env.ok()) << env.status();
  if (!env.ok()) return {};
  auto policy = ScriptedTaskPolicy::ForTask(task, config.reward());
  EXPECT_NE(policy, nullptr);
  if (policy == nullptr) return {};
  std::vector<double> returns;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    returns.push_back(EpisodeReturn(**env, *policy, seed));
    std::printf("%s seed %llu return %.1f\n", Task_Name(task).c_str(),
                static_cast<unsigned long long>(seed), returns.back());
  }
  return returns;
}

TEST_F(Solvability, ScriptedMatchPositionsSucceedsInMostSeeds) {
  int successes = 0;
  // Measured: 9 of 10 seeds above 200 (returns 183-288; seed 0 places blue late).
  for (double r : ScriptedReturns(MATCH_POSITIONS)) successes += r > 200 ? 1 : 0;
  EXPECT_GE(successes, 8);
}

TEST_F(Solvability, ScriptedMoveSucceedsInMostSeeds) {
  int successes = 0;
  // Measured: every seed 153-177 (the grasp takes the first ~30 steps).
  for (double r : ScriptedReturns(MOVE_BLUE)) successes += r > 100 ? 1 : 0;
  EXPECT_GE(successes, 9);
}

}  // namespace
}  // namespace ivg::env
