// The evaluator against real peers on loopback (loopback_peers.h): baselines on fixed seeds,
// the deterministic learned policy when due, eval.csv, and no writes to the replay.
#include "services/evaluator/evaluator.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/loopback_peers.h"

namespace ivg::evaluator {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class EvaluatorTest : public testing::LoopbackPeersTest {
 protected:
  void SetUp() override {
    // Reach has a scripted controller and pays every step near the cube, so 60 steps
    // separate it clearly from a random policy.
    StartPeers({"env.task=REACH_RED", "env.episode_steps=60", "eval.episodes=2",
                "eval.every_learner_steps=10",
                absl::StrCat("cluster.run_dir=", dir_.path(), "/run")});
    auto evaluator = Evaluator::Create(config_, &eval_registry_);
    ASSERT_TRUE(evaluator.ok()) << evaluator.status();
    evaluator_ = std::move(*evaluator);
  }

  std::vector<std::string> CsvLines() {
    std::ifstream in(evaluator_->csv_path());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  metrics::MetricRegistry eval_registry_;
  std::unique_ptr<Evaluator> evaluator_;
};

TEST(EvalSummary, MeanSpreadAndSuccessRateOverTheSeeds) {
  ExperimentConfig config;
  config.mutable_env()->set_task(REACH_RED);
  config.mutable_env()->set_episode_steps(200);  // Reach succeeds above 100.
  EvalSummary s = Summarize(config, EvalPolicy::kLearned, 0, {50, 150, 100, 180});
  EXPECT_DOUBLE_EQ(s.mean, 120);
  EXPECT_NEAR(s.stddev, std::sqrt((70.0 * 70 + 30 * 30 + 20 * 20 + 60 * 60) / 4), 1e-9);
  EXPECT_DOUBLE_EQ(s.min, 50);
  EXPECT_DOUBLE_EQ(s.max, 180);
  EXPECT_DOUBLE_EQ(s.success_rate, 0.5);  // 150 and 180; 100 is not above 100.
}

TEST(NormalizedScore, IsZeroAtRandomOneAtScriptedAndUndefinedWithoutASpread) {
  EXPECT_DOUBLE_EQ(NormalizedScore(8, 8, 188), 0);
  EXPECT_DOUBLE_EQ(NormalizedScore(188, 8, 188), 1);
  EXPECT_DOUBLE_EQ(NormalizedScore(98, 8, 188), 0.5);
  EXPECT_TRUE(std::isnan(NormalizedScore(5, 8, 8)));
}

TEST_F(EvaluatorTest, ScriptedBeatsRandomOnTheSameFixedSeedsAndRescoringRepeatsThem) {
  ASSERT_TRUE(evaluator_->ScoreBaselines().ok());
  const EvalSummary random = evaluator_->random_baseline().at(0);
  const EvalSummary scripted = evaluator_->scripted_baseline().at(0);
  ASSERT_EQ(random.returns.size(), 2u);
  EXPECT_GT(scripted.mean, random.mean + 5) << "scripted " << scripted.mean << " random "
                                             << random.mean;
  ASSERT_TRUE(evaluator_->ScoreBaselines().ok());
  EXPECT_EQ(evaluator_->random_baseline().at(0).returns, random.returns);
  EXPECT_EQ(evaluator_->scripted_baseline().at(0).returns, scripted.returns);
  // The scripted controller heads for the cube and gets there; uniform random commands point
  // anywhere (a mean cosine near 0 over 2 x 60 steps).
  EXPECT_GT(scripted.heading_cosine, 0.5);
  EXPECT_DOUBLE_EQ(scripted.reached_rate, 1.0);
  EXPECT_LT(std::fabs(random.heading_cosine), 0.3) << random.heading_cosine;

  const std::vector<std::string> lines = CsvLines();
  ASSERT_EQ(lines.size(), 5u);  // header + (random, scripted) x 2
  EXPECT_THAT(lines[0], StartsWith("wall_seconds,policy,task,param_version,learner_step"));
  EXPECT_THAT(lines[1], HasSubstr(",random,REACH_RED,-1,-1,0,2,"));
  EXPECT_THAT(lines[2], HasSubstr(",scripted,REACH_RED,-1,-1,0,2,"));
  EXPECT_THAT(lines[0], HasSubstr(",normalized_score,target_heading_cosine,target_reached_rate"));
  EXPECT_THAT(lines[2], HasSubstr(absl::StrFormat(",%.4f,%.4f", scripted.heading_cosine,
                                                  scripted.reached_rate)));
}

TEST_F(EvaluatorTest, EvaluatesTheFirstVersionThenEveryConfiguredLearnerSteps) {
  absl::StatusOr<bool> due = evaluator_->FetchIfDue();
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_FALSE(*due) << "nothing published yet";

  Publish(/*version=*/1, /*learner_step=*/0);
  due = evaluator_->FetchIfDue();
  ASSERT_TRUE(due.ok() && *due);
  ASSERT_TRUE(evaluator_->ScoreBaselines().ok());
  auto first = evaluator_->EvaluateLearned();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].returns.size(), 2u);
  due = evaluator_->FetchIfDue();
  ASSERT_TRUE(due.ok());
  EXPECT_FALSE(*due) << "the same version again";

  Publish(/*version=*/5, /*learner_step=*/5);
  due = evaluator_->FetchIfDue();
  ASSERT_TRUE(due.ok());
  EXPECT_FALSE(*due) << "5 steps after the last evaluation, 10 configured";
  Publish(/*version=*/10, /*learner_step=*/10);
  due = evaluator_->FetchIfDue();
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(*due);
  ASSERT_TRUE(evaluator_->EvaluateLearned().ok());
  EXPECT_EQ(evaluator_->evaluations(), 2);

  const std::vector<std::string> lines = CsvLines();
  ASSERT_EQ(lines.size(), 5u);  // header, random, scripted, learned x 2
  EXPECT_THAT(lines[3], HasSubstr(",learned,REACH_RED,1,0,0,2,"));
  EXPECT_THAT(lines[4], HasSubstr(",learned,REACH_RED,10,10,0,2,"));
  // The learned rows carry the normalised score (the baselines were scored first) and, Reach
  // having a target object, the heading and reached rate.
  const std::vector<std::string> fields = absl::StrSplit(lines[4], ',');
  ASSERT_EQ(fields.size(), 15u) << lines[4];
  for (int column : {12, 13, 14}) EXPECT_FALSE(fields[column].empty()) << column;
  // An evaluator never inserts into the replay.
  EXPECT_EQ(ReplayTable().total_inserted_items(), 0);
  // Each evaluation leaves an animated PNG of its first episode (60 steps + the first frame),
  // and latest.png is the newest.
  for (const char* name : {"/eval_step_0.png", "/eval_step_10.png", "/latest.png"}) {
    EXPECT_TRUE(std::filesystem::exists(evaluator_->videos_dir() + name)) << name;
  }
  std::ifstream latest(evaluator_->videos_dir() + "/latest.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(latest)), std::istreambuf_iterator<char>());
  const size_t actl = bytes.find("acTL");
  ASSERT_NE(actl, std::string::npos);
  EXPECT_EQ(static_cast<uint8_t>(bytes[actl + 7]), 61);
  EXPECT_EQ(std::filesystem::file_size(evaluator_->videos_dir() + "/latest.png"),
            std::filesystem::file_size(evaluator_->videos_dir() + "/eval_step_10.png"));
}

TEST_F(EvaluatorTest, DeterministicEvaluationRepeatsExactlyOnTheSameParameters) {
  Publish(/*version=*/1);
  ASSERT_TRUE(evaluator_->FetchIfDue().ok());
  auto a = evaluator_->RunEpisode(EvalPolicy::kLearned, 0, config_.eval().seed());
  auto b = evaluator_->RunEpisode(EvalPolicy::kLearned, 0, config_.eval().seed());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->episode_return, b->episode_return);
  EXPECT_EQ(a->heading_cosine, b->heading_cosine);
  EXPECT_EQ(a->closest_distance, b->closest_distance);
}

TEST_F(EvaluatorTest, AFinishedRunsStoredParametersScoreAsTheFetchedOnesDid) {
  Publish(/*version=*/7, /*learner_step=*/70);
  ASSERT_TRUE(evaluator_->FetchIfDue().ok());
  auto fetched = evaluator_->RunEpisode(EvalPolicy::kLearned, 0, config_.eval().seed());
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  // What the parameter server keeps in <run_dir>/param_server/parameters.pb.
  const std::string stored_path = dir_.path() + "/parameters.pb";
  {
    std::ofstream out(stored_path, std::ios::binary);
    ASSERT_TRUE(store_->Latest()->SerializeToOstream(&out));
  }
  EvaluatorOptions options;
  options.csv_path = dir_.path() + "/final_eval.csv";
  options.read_replay = false;
  auto final_evaluator = Evaluator::Create(config_, &eval_registry_, options);
  ASSERT_TRUE(final_evaluator.ok()) << final_evaluator.status();
  ASSERT_TRUE((*final_evaluator)->LoadStoredParameters(stored_path).ok());
  auto stored = (*final_evaluator)->RunEpisode(EvalPolicy::kLearned, 0, config_.eval().seed());
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->episode_return, fetched->episode_return);
  EXPECT_EQ(stored->heading_cosine, fetched->heading_cosine);
  // Its rows carry the stored version and learner step, in the file asked for; the env steps
  // are unknown without the run's replay.
  ASSERT_TRUE((*final_evaluator)->EvaluateLearned().ok());
  std::ifstream in(options.csv_path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr(",learned,REACH_RED,7,70,-1,2,"));
}

TEST_F(EvaluatorTest, MissingCorruptOrMisfittingParameterFilesAreNamedAndChangeNothing) {
  const std::string missing = dir_.path() + "/no_such_parameters.pb";
  absl::Status status = evaluator_->LoadStoredParameters(missing);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(missing));

  const std::string corrupt = dir_.path() + "/corrupt.pb";
  std::ofstream(corrupt, std::ios::binary) << "\xff\xff\xff not a parameter set";
  status = evaluator_->LoadStoredParameters(corrupt);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr(corrupt));

  // A set for other networks: the first tensor flattened (same data, another shape).
  Publish(/*version=*/3, /*learner_step=*/30);
  PublishRequest misfit = *store_->Latest();
  ASSERT_GT(misfit.actor_params().tensors_size(), 0);
  Tensor* first = misfit.mutable_actor_params()->mutable_tensors(0)->mutable_tensor();
  ASSERT_GT(first->shape_size(), 1);
  int64_t elements = 1;
  for (int64_t size : first->shape()) elements *= size;
  first->clear_shape();
  first->add_shape(elements);
  const std::string misfit_path = dir_.path() + "/misfit.pb";
  {
    std::ofstream out(misfit_path, std::ios::binary);
    ASSERT_TRUE(misfit.SerializeToOstream(&out));
  }
  status = evaluator_->LoadStoredParameters(misfit_path);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(misfit_path));
  EXPECT_THAT(status.message(), HasSubstr(misfit.actor_params().tensors(0).name()));
  // Nothing was loaded: there is no policy to evaluate.
  EXPECT_EQ(evaluator_->EvaluateLearned().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ivg::evaluator
