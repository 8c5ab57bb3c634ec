#include "services/launcher/learning_curve.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg::launcher {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string WriteEvalCsv(const std::string& name, const std::string& rows) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            (name + "_" + std::to_string(::getpid()) + ".csv"))
                               .string();
  std::ofstream(path) << "wall_seconds,policy,task,param_version,learner_step,env_steps,"
                         "episodes,return_mean,return_std,return_min,return_max,success_rate,"
                         "normalized_score\n"
                      << rows;
  return path;
}

TEST(ReadEvalBaselines, TakesTheNewestRandomAndScriptedMeansPerTask) {
  const std::string path = WriteEvalCsv(
      "baselines",
      "1.0,random,REACH_RED,-1,-1,0,5,8.0,1,6,9,0,\n"
      "2.0,scripted,REACH_RED,-1,-1,0,5,180.0,3,170,185,1,\n"
      "9.0,random,REACH_RED,-1,-1,0,5,9.0,1,6,9,0,\n"
      "12.0,learned,REACH_RED,3,100,2400,5,20.0,4,15,25,0,0.06\n"
      "13.0,learned,REACH_RED,4,200,48");  // a partly written line
  bool learned = false;
  auto baselines = ReadEvalBaselines(path, &learned);
  EXPECT_TRUE(learned);
  ASSERT_EQ(baselines.count("REACH_RED"), 1u);
  EXPECT_DOUBLE_EQ(baselines["REACH_RED"].random, 9.0);
  EXPECT_DOUBLE_EQ(baselines["REACH_RED"].scripted, 180.0);
  std::filesystem::remove(path);

  EXPECT_TRUE(ReadEvalBaselines("/nonexistent/eval.csv", &learned).empty());
  EXPECT_FALSE(learned);
}

TEST(LearningCurveScript, PlotsEvalActorsAndBaselinesAgainstStepsAndMinutes) {
  LearningCurveInputs in;
  in.run_dir = "/tmp/run";
  in.task_names = {"REACH_RED"};
  in.baselines["REACH_RED"].random = 8.4;
  in.baselines["REACH_RED"].scripted = 188;
  in.has_learned_rows = true;
  const std::string script = LearningCurveScript(in);
  EXPECT_THAT(script, HasSubstr("set output '/tmp/run/learning_curve.png'"));
  EXPECT_THAT(script, HasSubstr("strcol(3) eq 'REACH_RED') ? $6 : 1/0):8"));    // env steps
  EXPECT_THAT(script, HasSubstr("strcol(3) eq 'REACH_RED') ? $1/60 : 1/0):8"));  // minutes
  // One task: return_REACH_RED is column 9, its moving mean column 10.
  EXPECT_THAT(script, HasSubstr("'/tmp/run/metrics.csv' every ::1 using 3:10 with lines"));
  EXPECT_THAT(script, HasSubstr("8.4 with lines dt 2 title 'random REACH_RED'"));
  EXPECT_THAT(script, HasSubstr("188 with lines dt 3 title 'scripted REACH_RED'"));
}

TEST(LearningCurveScript, LeavesOutTheEvalCurveUntilThereAreLearnedRows) {
  LearningCurveInputs in;
  in.run_dir = "/tmp/run";
  in.task_names = {"LIFT_RED"};
  EXPECT_THAT(LearningCurveScript(in), Not(HasSubstr("eval.csv")));
}

}  // namespace
}  // namespace ivg::launcher
