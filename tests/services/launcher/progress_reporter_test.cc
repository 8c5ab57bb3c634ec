#include "services/launcher/progress_reporter.h"

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
