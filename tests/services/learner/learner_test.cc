// The learner process's pieces with real components: batches from episodes,
// checkpoint + resume through the Learner, metrics, and the parameter encoding round trip.
#include "services/learner/learner.h"

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/tensor/tensor_codec.h"
#include "model/config/model_config.h"
#include "model/core/learner_core.h"
#include "services/learner/batch_conversion.h"
#include "services/learner/parameter_publisher.h"
#include "services/learner/sequence_source.h"
#include "tests/services/learner/test_config.h"

namespace ivg::learner {
namespace {

using ::ivg::model::CoreOptionsFromConfig;
using ::ivg::model::LearnerCore;
using ::ivg::model::ModelOptionsFingerprint;

using ::testing::HasSubstr;

std::unique_ptr<InMemorySequenceSource> MakeSource(const ExperimentConfig& c, uint64_t seed) {
  const int l = c.learner().burn_in() + c.learner().model_rollout();
  auto source = std::make_unique<InMemorySequenceSource>(l, seed);
  for (const Episode& e : MakeSyntheticEpisodes(/*num_episodes=*/6, c.env().episode_steps(),
                                                /*image_size=*/64, c.model().proprio_size(),
                                                c.model().action_size(), /*num_tasks=*/1, seed)) {
    EXPECT_TRUE(source->AddEpisode(e).ok());
  }
  return source;
}

std::string TempRunDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             (name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

TEST(MakePublishRequest, ActorParametersRoundTripThroughTheTensorCodec) {
  auto options = CoreOptionsFromConfig(testing::TinyExperimentConfig());
  ASSERT_TRUE(options.ok());
  auto core = LearnerCore::Create(*options);
  ASSERT_TRUE(core.ok());
  auto request = MakePublishRequest(*core.value(), /*version=*/12, /*include_model=*/true);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->version(), 12);
  EXPECT_EQ(request->model_config_fingerprint(), ModelOptionsFingerprint(options->model));
  auto decoded = NamedTensorsFromProto(request->actor_params());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  auto expected = core.value()->ActorParameters();
  ASSERT_EQ(decoded->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*decoded)[i].first, expected[i].first);
    EXPECT_TRUE(at::equal((*decoded)[i].second, expected[i].second)) << expected[i].first;
  }
  EXPECT_THAT(expected.front().first, HasSubstr("encoder."));
  EXPECT_THAT(expected.back().first, HasSubstr("policy."));
  auto model = NamedTensorsFromProto(request->model_params());
  ASSERT_TRUE(model.ok());
  bool has_transition = false;
  for (const auto& [name, tensor] : *model) {
    EXPECT_THAT(name, ::testing::Not(HasSubstr("target_")));
    has_transition |= name.rfind("transition.", 0) == 0;
  }
  EXPECT_TRUE(has_transition);
}

class RecordingPublisher : public ParameterPublisher {
 public:
  absl::Status Publish(const PublishRequest& request) override {
    versions.push_back(request.version());
    return absl::OkStatus();
  }
  std::vector<int64_t> versions;
};

TEST(Learner, ResumeContinuesExactlyLikeAnUninterruptedRun) {
  ExperimentConfig c = testing::TinyExperimentConfig();
  const std::string run_dir = TempRunDir("ivg_learner_resume");
  metrics::MetricRegistry registry_a, registry_b;
  LearnerOptions a_options;
  a_options.config = c;
  a_options.run_dir = run_dir;
  a_options.registry = &registry_a;
  auto a = Learner::Create(a_options, MakeSource(c, 3), nullptr, nullptr);
  ASSERT_TRUE(a.ok()) << a.status();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*a)->Step().ok());
  ASSERT_TRUE((*a)->SaveCheckpoint().ok());
  ASSERT_TRUE(std::filesystem::exists((*a)->checkpoint_path()));

  // The "restarted" process: a new learner and a new source with another seed; --resume
  // restores parameters, optimisers, noise and the sampler's position.
  LearnerOptions b_options = a_options;
  b_options.resume = true;
  b_options.registry = &registry_b;
  b_options.config.mutable_learner()->set_seed(55);
  auto b = Learner::Create(b_options, MakeSource(c, 3), nullptr, nullptr);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->step(), 3);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*a)->Step().ok());
    ASSERT_TRUE((*b)->Step().ok());
    auto pa = (*a)->core().AllParameters(), pb = (*b)->core().AllParameters();
    for (size_t k = 0; k < pa.size(); ++k) {
      ASSERT_TRUE(at::equal(pa[k].second, pb[k].second)) << "step " << i << " " << pa[k].first;
    }
  }
  std::filesystem::remove_all(run_dir);
}

// Prefetching changes when batches are sampled, never which batch a step trains on: a
// learner that samples on its own thread ends bit-identical to one that samples inline.
TEST(Learner, PrefetchingTrainsOnTheSameBatchesInTheSameOrderAsInlineSampling) {
  std::vector<std::vector<std::pair<std::string, at::Tensor>>> parameters;
  for (int prefetch : {0, 3}) {
    ExperimentConfig c = testing::TinyExperimentConfig();
    c.mutable_learner()->set_prefetch_batches(prefetch);
    LearnerOptions options;
    options.config = c;
    options.run_dir = TempRunDir("ivg_learner_prefetch_" + std::to_string(prefetch));
    metrics::MetricRegistry registry;
    options.registry = &registry;
    auto learner = Learner::Create(options, MakeSource(c, 9), nullptr, nullptr);
    ASSERT_TRUE(learner.ok()) << learner.status();
    for (int i = 0; i < 6; ++i) ASSERT_TRUE((*learner)->Step().ok());
    parameters.push_back((*learner)->core().AllParameters());
    std::filesystem::remove_all(options.run_dir);
  }
  ASSERT_EQ(parameters[0].size(), parameters[1].size());
  for (size_t k = 0; k < parameters[0].size(); ++k) {
    EXPECT_TRUE(at::equal(parameters[0][k].second, parameters[1][k].second))
        << parameters[0][k].first;
  }
}

TEST(Learner, ResumeWithoutCheckpointIsAClearError) {
  LearnerOptions options;
  options.config = testing::TinyExperimentConfig();
  options.run_dir = TempRunDir("ivg_learner_nockpt");
  options.resume = true;
  metrics::MetricRegistry registry;
  options.registry = &registry;
  auto learner = Learner::Create(options, MakeSource(options.config, 1), nullptr, nullptr);
  ASSERT_FALSE(learner.ok());
  EXPECT_THAT(learner.status().message(), HasSubstr("no checkpoint"));
  std::filesystem::remove_all(options.run_dir);
}

TEST(Learner, RunExportsMetricsPublishesAndCheckpointsOnExit) {
  ExperimentConfig c = testing::TinyExperimentConfig();
  c.mutable_learner()->set_max_steps(4);
  c.mutable_learner()->set_publish_every_steps(2);
  LearnerOptions options;
  options.config = c;
  options.run_dir = TempRunDir("ivg_learner_run");
  metrics::MetricRegistry registry;
  options.registry = &registry;
  RecordingPublisher publisher;
  auto learner = Learner::Create(options, MakeSource(c, 2), nullptr, &publisher);
  ASSERT_TRUE(learner.ok()) << learner.status();
  ASSERT_TRUE((*learner)->Run([] { return false; }).ok());
  EXPECT_EQ((*learner)->step(), 4);
  // The initial parameters (step 0) go out before the first update, so actors can act.
  EXPECT_EQ(publisher.versions, (std::vector<int64_t>{0, 2, 4}));
  EXPECT_TRUE(std::filesystem::exists((*learner)->checkpoint_path()));
  const std::string text = registry.Serialize();
  EXPECT_THAT(text, HasSubstr("ivg_learner_loss{term=\"value\"}"));
  EXPECT_THAT(text, HasSubstr("ivg_learner_steps_total 4"));
  EXPECT_THAT(text, HasSubstr("ivg_learner_target_updates_total 1"));
  EXPECT_THAT(text, HasSubstr("ivg_learner_allreduce_seconds_bucket"));
  // One wait per step; the prefetch thread may have sampled ahead of the last step.
  EXPECT_THAT(text, HasSubstr("ivg_learner_batch_wait_seconds_count 4"));
  EXPECT_THAT(text, HasSubstr("ivg_learner_sample_latency_seconds_count"));
  std::filesystem::remove_all(options.run_dir);
}

// Width and height from a PNG's IHDR chunk, after checking the signature.
bool ReadPngSize(const std::string& path, uint32_t* width, uint32_t* height) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[24];
  if (!in.read(reinterpret_cast<char*>(header), sizeof(header))) return false;
  const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (std::memcmp(header, signature, 8) != 0 || std::memcmp(header + 12, "IHDR", 4) != 0) {
    return false;
  }
  auto be32 = [&](int at) {
    return (uint32_t{header[at]} << 24) | (uint32_t{header[at + 1]} << 16) |
           (uint32_t{header[at + 2]} << 8) | uint32_t{header[at + 3]};
  };
  *width = be32(16);
  *height = be32(20);
  return true;
}

TEST(Learner, RankZeroWritesReconstructionStripsEveryNSteps) {
  ExperimentConfig c = testing::TinyExperimentConfig();
  c.mutable_learner()->set_reconstruction_every_steps(2);
  LearnerOptions options;
  options.config = c;
  options.run_dir = TempRunDir("ivg_learner_recon");
  metrics::MetricRegistry registry;
  options.registry = &registry;
  auto learner = Learner::Create(options, MakeSource(c, 4), nullptr, nullptr);
  ASSERT_TRUE(learner.ok()) << learner.status();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*learner)->Step().ok());
  const std::filesystem::path dir = (*learner)->reconstructions_dir();
  EXPECT_EQ(dir, std::filesystem::path(options.run_dir) / "reconstructions");
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("step_2.png", "step_4.png", "latest.png"));
  // K = 3 cells of both cameras (3 x 128) by 4 sequences x (true, predicted) x 64.
  const uint32_t k = c.learner().model_rollout();
  for (const char* name : {"step_4.png", "latest.png"}) {
    uint32_t width = 0, height = 0;
    ASSERT_TRUE(ReadPngSize((dir / name).string(), &width, &height)) << name;
    EXPECT_EQ(width, k * 128) << name;
    EXPECT_EQ(height, 4u * 2 * 64) << name;
  }
  EXPECT_THAT(registry.Serialize(), HasSubstr("ivg_learner_reconstructions_total 2"));
  std::filesystem::remove_all(options.run_dir);
}

TEST(Learner, ReconstructionWriteFailureDoesNotStopTraining) {
  ExperimentConfig c = testing::TinyExperimentConfig();
  c.mutable_learner()->set_reconstruction_every_steps(1);
  LearnerOptions options;
  options.config = c;
  options.run_dir = TempRunDir("ivg_learner_recon_blocked");
  metrics::MetricRegistry registry;
  options.registry = &registry;
  auto learner = Learner::Create(options, MakeSource(c, 4), nullptr, nullptr);
  ASSERT_TRUE(learner.ok()) << learner.status();
  // A plain file where the reconstructions directory should be.
  std::ofstream((*learner)->reconstructions_dir()) << "in the way";
  for (int i = 0; i < 2; ++i) ASSERT_TRUE((*learner)->Step().ok());
  EXPECT_EQ((*learner)->step(), 2);
  EXPECT_THAT(registry.Serialize(), HasSubstr("ivg_learner_reconstructions_total 0"));
  std::filesystem::remove_all(options.run_dir);
}

// Serves, in order: a refusal from the replay, a batch whose task id is out of range, a
// batch whose images are truncated, then good batches from `inner`.
class BadThenGoodSource : public SequenceSource {
 public:
  explicit BadThenGoodSource(std::unique_ptr<SequenceSource> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<SequenceBatch> Sample(int batch_size) override {
    const int call = ++calls_;
    if (call == 1) return absl::InvalidArgumentError("replay: item 42 is corrupt");
    absl::StatusOr<SequenceBatch> batch = inner_->Sample(batch_size);
    if (!batch.ok()) return batch;
    if (call == 2) {
      const int32_t bad_task = 7;
      std::memcpy(batch->mutable_task_ids()->mutable_data()->data(), &bad_task, sizeof(bad_task));
    }
    if (call == 3) batch->mutable_images()->mutable_data()->resize(10);
    return batch;
  }
  std::atomic<int> calls_{0};  // The prefetch thread samples; the test reads.

 private:
  std::unique_ptr<SequenceSource> inner_;
};

// One bad item must not stop training: the learner discards what it cannot use, counts it,
// samples again, and steps (before any collective call, so ranks stay in step).
TEST(Learner, DiscardsRefusedAndMalformedBatchesAndKeepsTraining) {
  ExperimentConfig c = testing::TinyExperimentConfig();
  LearnerOptions options;
  options.config = c;
  options.run_dir = TempRunDir("ivg_learner_bad_batches");
  metrics::MetricRegistry registry;
  options.registry = &registry;
  auto source = std::make_unique<BadThenGoodSource>(MakeSource(c, 5));
  BadThenGoodSource* raw = source.get();
  auto learner = Learner::Create(options, std::move(source), nullptr, nullptr);
  ASSERT_TRUE(learner.ok()) << learner.status();
  ASSERT_TRUE((*learner)->Step().ok());
  EXPECT_EQ((*learner)->step(), 1);
  // The step trained on the fourth sample (the prefetch thread may be sampling further).
  EXPECT_GE(raw->calls_.load(), 4);
  EXPECT_THAT(registry.Serialize(), HasSubstr("ivg_learner_rejected_batches_total 3"));
  std::filesystem::remove_all(options.run_dir);
}

}  // namespace
}  // namespace ivg::learner
