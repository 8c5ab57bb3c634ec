#include "services/launcher/progress_reporter.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg::launcher {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FormatProgressLine, ShowsTheEvalReturnNextToRandomScriptedAndTheScore) {
  ProgressRow row;
  row.eval_learner_step = 300;
  row.eval["REACH_RED"] = {/*learned=*/98.0, /*random=*/8.4, /*scripted=*/188.0,
                           /*normalized=*/0.5};
  EXPECT_THAT(FormatVerboseProgressLine(row),
              HasSubstr("| eval@300 REACH_RED 98.0 (random 8.4, scripted 188.0, score 0.50)"));
  EXPECT_THAT(FormatProgressLine(row), HasSubstr("| eval@300 REACH_RED 98.0 score 0.50"));
}

TEST(FormatProgressLine, ShowsWhereTheLearnedPolicyHeadsWhenTheTaskHasATarget) {
  ProgressRow row;
  row.eval_learner_step = 300;
  row.eval["REACH_RED"] = {/*learned=*/98.0, /*random=*/8.4, /*scripted=*/188.0,
                           /*normalized=*/0.5, /*learned_heading=*/0.25};
  EXPECT_THAT(FormatVerboseProgressLine(row), HasSubstr("score 0.50, heading 0.25)"));
  EXPECT_THAT(FormatProgressLine(row), HasSubstr("score 0.50 heading 0.25"));
}

TEST(FormatProgressLine, BaselinesShowBeforeTheFirstEvaluation) {
  ProgressRow row;
  row.eval["REACH_RED"].random = 8.4;
  row.eval["REACH_RED"].scripted = 188.0;
  const std::string line = FormatProgressLine(row);
  EXPECT_THAT(line, HasSubstr("| eval REACH_RED - (random 8.4, scripted 188.0)"));
  EXPECT_THAT(line, Not(HasSubstr("score")));
}

TEST(FormatProgressLine, NoEvalColumnWithoutAnEvaluator) {
  EXPECT_THAT(FormatProgressLine(ProgressRow()), Not(HasSubstr("eval")));
}

TEST(FormatProgressLine, ShowsWhyThePolicyLearnsOrNot) {
  ProgressRow row;
  row.diagnostics = {{"policy_abs_mean_action", 0.42}, {"policy_log_std_mean", 0.0},
                     {"policy_mean_outside_bounds", 0.25}, {"behaviour_nll", 4.25},
                     {"imagined_objective", 2.5},
                     {"value_mean", 2.0}, {"value_target_mean", 2.1},
                     {"reward_explained_variance", 0.91},
                     {"open_loop_reward_explained_variance", 0.97},
                     {"value_explained_variance", -0.5}};
  row.clipped_fraction = 0.5;
  row.replay_ratio = 0.15;
  EXPECT_THAT(FormatVerboseProgressLine(row),
              HasSubstr("| policy |mu| 0.42 std 1.00 beyond-bounds 25% clipped 50% "
                        "replayed-action nll 4.25 | "
                        "imagined 2.5 V 2 target 2.1 | explained variance r 0.91 (open loop 0.97) "
                        "V -0.50 | "
                        "replay ratio 0.15"));
}

// The widest single-task row a run prints: the default line still fits 160 characters and
// says what matters (throughput, return, eval next to its baselines); the diagnostics and
// losses go to the verbose line alone.
ProgressRow WidestSingleTaskRow() {
  ProgressRow row;
  row.elapsed_seconds = 86399;
  row.processes_up = 13;
  row.processes_total = 14;
  row.episodes = 123456;
  row.env_steps_per_second = 12345;
  row.learner_steps = 1234567;
  row.learner_steps_per_second = 123.45;
  row.replay_items = 99999;
  row.published_version = 123456;
  row.mean_return["STACK_RED"] = -123.4;
  row.eval_learner_step = 1234567;
  row.eval["STACK_RED"] = {/*learned=*/-123.4, /*random=*/-123.4, /*scripted=*/1234.5,
                           /*normalized=*/-0.55, /*learned_heading=*/-0.25};
  row.diagnostics = {{"policy_abs_mean_action", 0.42}, {"value_mean", 2.0}};
  row.losses = {{"value", 0.5}, {"reward", 0.25}};
  return row;
}

TEST(FormatProgressLine, FitsOneTerminalLineAndLeavesTheDiagnosticsToVerbose) {
  const ProgressRow row = WidestSingleTaskRow();
  const std::string line = FormatProgressLine(row);
  EXPECT_LE(line.size(), 160u) << line;
  EXPECT_THAT(line, HasSubstr("] up 13/14 | env 12345 steps/s | learner step 1234567 (123.45/s)"));
  EXPECT_THAT(line, HasSubstr("| return -123.4 | eval@1234567 STACK_RED -123.4 score -0.55 "
                              "heading -0.25"));
  EXPECT_THAT(line, Not(HasSubstr("policy")));
  EXPECT_THAT(line, Not(HasSubstr("loss")));
  const std::string verbose = FormatVerboseProgressLine(row);
  EXPECT_THAT(verbose, HasSubstr("| policy |mu| 0.42"));
  EXPECT_THAT(verbose, HasSubstr("| loss reward 0.25, value 0.5"));
  EXPECT_THAT(verbose, HasSubstr("episodes 123456"));
}

TEST(FormatProgressLine, SummarisesSeveralTasksAsTheMeanScoreAndTheBest) {
  ProgressRow row = WidestSingleTaskRow();
  row.mean_return.clear();
  row.eval.clear();
  const char* tasks[] = {"REACH_RED", "REACH_BLUE", "MOVE_BLUE", "LIFT_BLUE", "STACK_BLUE"};
  for (int i = 0; i < 5; ++i) {
    row.mean_return[tasks[i]] = 10.0 * i;
    row.eval[tasks[i]] = {/*learned=*/100.0, /*random=*/1.0, /*scripted=*/200.0,
                          /*normalized=*/0.1 * i};
  }
  row.eval["STACK_BLUE"].normalized = std::nan("");  // not evaluated yet
  const std::string line = FormatProgressLine(row);
  EXPECT_LE(line.size(), 160u) << line;
  EXPECT_THAT(line, HasSubstr("| return 20.0 (5 tasks)"));
  EXPECT_THAT(line, HasSubstr("| eval@1234567 score 0.15 (4/5 tasks, best LIFT_BLUE 0.30)"));
  EXPECT_THAT(FormatVerboseProgressLine(row), HasSubstr("REACH_BLUE 100.0 (random 1.0"));
}

// Supervision tests and users read "up N/M" (running of planned processes) off every line.
TEST(FormatProgressLine, ShowsTheProcessesRunningOfThosePlanned) {
  ProgressRow row;
  row.processes_up = 12;
  row.processes_total = 14;
  EXPECT_THAT(FormatProgressLine(row), HasSubstr("] up 12/14 | "));
  EXPECT_THAT(FormatVerboseProgressLine(row), HasSubstr("] up 12/14 | "));
}

TEST(MakeProgressRow, ClippedFractionPerEnvStepAndReplayRatioOfSampledSteps) {
  ClusterTotals previous, current;
  current.when = previous.when + absl::Seconds(5);
  previous.env_steps = 1000;
  previous.clipped_actions = 100;
  current.env_steps = 2000;
  current.clipped_actions = 350;
  current.learner_samples = 50;  // sequences of 8 steps: 400 sampled steps
  ProgressRow row = MakeProgressRow(previous, current, previous.when, 3, /*sequence_length=*/8);
  EXPECT_DOUBLE_EQ(row.clipped_fraction, 0.25);
  EXPECT_DOUBLE_EQ(row.replay_ratio, 0.2);
}

TEST(MakeProgressRow, ActorsBlockedShareIsPerActorAndInterval) {
  ClusterTotals previous, current;
  current.when = previous.when + absl::Seconds(10);
  previous.actor_blocked_seconds = 4;
  current.actor_blocked_seconds = 19;  // 15 s blocked over 10 s by 2 actors: 75%
  current.actors_up = 2;
  ProgressRow row = MakeProgressRow(previous, current, previous.when, 3);
  EXPECT_DOUBLE_EQ(row.actors_blocked_fraction, 0.75);
  EXPECT_THAT(FormatVerboseProgressLine(row), HasSubstr("| actors blocked 75%"));
}

TEST(MakeProgressRow, NoActorsNoBlockedShare) {
  ClusterTotals previous, current;
  current.when = previous.when + absl::Seconds(10);
  ProgressRow row = MakeProgressRow(previous, current, previous.when, 3);
  EXPECT_FALSE(std::isfinite(row.actors_blocked_fraction));
  EXPECT_THAT(FormatVerboseProgressLine(row), Not(HasSubstr("blocked")));
}

TEST(MakeProgressRow, CarriesTheEvaluatorsScores) {
  ClusterTotals previous, current;
  current.when = previous.when + absl::Seconds(5);
  current.eval["LIFT_RED"].learned = 12;
  current.eval_learner_step = 40;
  ProgressRow row = MakeProgressRow(previous, current, previous.when, 3);
  EXPECT_DOUBLE_EQ(row.eval.at("LIFT_RED").learned, 12);
  EXPECT_DOUBLE_EQ(row.eval_learner_step, 40);
}

}  // namespace
}  // namespace ivg::launcher
