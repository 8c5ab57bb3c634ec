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
  EXPECT_THAT(FormatProgressLine(row),
              HasSubstr("| eval@300 REACH_RED 98.0 (random 8.4, scripted 188.0, score 0.50)"));
}

TEST(FormatProgressLine, ShowsWhereTheLearnedPolicyHeadsWhenTheTaskHasATarget) {
  ProgressRow row;
  row.eval_learner_step = 300;
  row.eval["REACH_RED"] = {/*learned=*/98.0, /*random=*/8.4, /*scripted=*/188.0,
                           /*normalized=*/0.5, /*learned_heading=*/0.25};
  EXPECT_THAT(FormatProgressLine(row), HasSubstr("score 0.50, heading 0.25)"));
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
  EXPECT_THAT(FormatProgressLine(row),
              HasSubstr("| policy |mu| 0.42 std 1.00 beyond-bounds 25% clipped 50% "
                        "replayed-action nll 4.25 | "
                        "imagined 2.5 V 2 target 2.1 | explained variance r 0.91 (open loop 0.97) "
                        "V -0.50 | "
                        "replay ratio 0.15"));
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
  EXPECT_THAT(FormatProgressLine(row), HasSubstr("| actors blocked 75%"));
}

TEST(MakeProgressRow, NoActorsNoBlockedShare) {
  ClusterTotals previous, current;
  current.when = previous.when + absl::Seconds(10);
  ProgressRow row = MakeProgressRow(previous, current, previous.when, 3);
  EXPECT_FALSE(std::isfinite(row.actors_blocked_fraction));
  EXPECT_THAT(FormatProgressLine(row), Not(HasSubstr("blocked")));
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
