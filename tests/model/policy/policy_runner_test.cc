#include "model/policy/policy_runner.h"

#include <cmath>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "common/config/config_loader.h"
#include "common/tensor/tensor_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/config/model_config.h"
#include "model/core/cem.h"
#include "model/core/learner_core.h"
#include "model/core/losses.h"
#include "model/core/proprio_scaling.h"

namespace ivg::model {
namespace {

using ::testing::HasSubstr;

class PolicyRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = LoadExperimentConfig(std::string(IVG_SOURCE_DIR) + "/configs/smoke.textproto", {});
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    auto runner = PolicyRunner::Create(config_, /*threads=*/1);
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = std::move(*runner);
    // Real parameters from a learner core, as the parameter server would send them.
    auto options = model::CoreOptionsFromConfig(config_);
    ASSERT_TRUE(options.ok());
    auto core = model::LearnerCore::Create(*options);
    ASSERT_TRUE(core.ok()) << core.error();
    core_ = core.consume();
    ASSERT_TRUE(NamedTensorsToProto(core_->ActorParameters(), &parameters_).ok());
    ASSERT_TRUE(runner_->Load(parameters_, 3).ok());

    const int size = config_.env().image_size();
    for (int t = 0; t < 7; ++t) {
      std::vector<uint8_t> image(6 * size * size);
      for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>((i * 7 + t * 31) % 251);
      std::vector<float> proprio(17);
      for (int i = 0; i < 17; ++i) proprio[i] = 0.05f * (i - 8) + 0.01f * t;
      images_.push_back(std::move(image));
      proprio_.push_back(std::move(proprio));
    }
  }

  FrameView Frame(int t) const { return {images_[t], proprio_[t]}; }

  ExperimentConfig config_;
  std::unique_ptr<model::LearnerCore> core_;
  std::unique_ptr<PolicyRunner> runner_;
  NamedTensors parameters_;
  std::vector<std::vector<uint8_t>> images_;
  std::vector<std::vector<float>> proprio_;
};

TEST_F(PolicyRunnerTest, IncrementalActingEqualsActingOnTheLastHFrames) {
  const int history = runner_->history_length();
  runner_->StartEpisode();
  for (int t = 0; t < 7; ++t) {
    auto incremental = runner_->ActOnNewestFrame(Frame(t), 0, /*deterministic=*/false, 100 + t);
    ASSERT_TRUE(incremental.ok()) << incremental.status();
    std::vector<FrameView> window;
    for (int k = std::max(0, t - history + 1); k <= t; ++k) window.push_back(Frame(k));
    auto full = runner_->Act(window, 0, /*deterministic=*/false, 100 + t);
    ASSERT_TRUE(full.ok()) << full.status();
    for (int i = 0; i < 5; ++i) {
      EXPECT_NEAR(incremental->mean[i], full->mean[i], 1e-5) << "step " << t;
      EXPECT_NEAR(incremental->action[i], full->action[i], 1e-5) << "step " << t;
    }
    EXPECT_NEAR(incremental->log_prob, full->log_prob, 1e-4);
  }
}

// The actor acts on the latent the learner trains from: the policy's mean action on the
// first H raw frames equals the learner core's policy on e_H (latents[:, H-1] of the model
// loss) for the same frames, with proprio scaled as the learner's batch conversion does.
TEST_F(PolicyRunnerTest, ActsOnTheSameLatentAsTheLearnerForTheSameFrames) {
  const model::CoreOptions& o = core_->options();
  const int64_t l = o.loss.sequence_length(), h = o.loss.burn_in;
  const int64_t s = o.model.image_size, c = o.model.image_channels, p = o.model.proprio_size;
  model::Batch batch;
  batch.images = at::randint(0, 256, {1, l, c, s, s}, at::kByte);
  at::Tensor raw_proprio = at::rand({1, l, p}) * 8.0 - 4.0;  // beyond some bounds: clipped
  batch.proprio = model::ScaleProprio(raw_proprio, model::ProprioBoundsFromConfig(config_));
  batch.actions = at::zeros({1, l, o.model.action_size});
  batch.rewards = at::zeros({1, l, o.model.num_tasks});
  batch.behaviour_log_probs = at::zeros({1, l});
  batch.task_ids = at::zeros({1}, at::kLong);
  ASSERT_FALSE(model::ValidateBatch(batch, o).has_value());
  at::Tensor expected_mean;
  {
    at::NoGradGuard no_grad;
    model::ModelLossTerms terms = model::ComputeModelLoss(*core_->model(), batch, o.loss);
    const at::Tensor e_h = terms.latents.select(1, h - 1);
    const at::Tensor task = at::one_hot(batch.task_ids, o.model.num_tasks).to(e_h.dtype());
    expected_mean = core_->model()->policy->forward(e_h, task).first.reshape({-1});
  }

  std::vector<std::vector<uint8_t>> images(h);
  std::vector<std::vector<float>> proprio(h);
  std::vector<FrameView> frames;
  for (int64_t t = 0; t < h; ++t) {
    const at::Tensor image = batch.images[0][t].contiguous();
    images[t].assign(image.data_ptr<uint8_t>(), image.data_ptr<uint8_t>() + image.numel());
    const at::Tensor raw = raw_proprio[0][t].contiguous();
    proprio[t].assign(raw.data_ptr<float>(), raw.data_ptr<float>() + raw.numel());
    frames.push_back({images[t], proprio[t]});
  }
  auto output = runner_->Act(frames, /*task_id=*/0, /*deterministic=*/true, /*seed=*/1);
  ASSERT_TRUE(output.ok()) << output.status();
  ASSERT_EQ(output->mean.size(), static_cast<size_t>(expected_mean.numel()));
  for (int64_t i = 0; i < expected_mean.numel(); ++i) {
    EXPECT_NEAR(output->mean[i], expected_mean[i].item<float>(), 1e-5) << "dimension " << i;
  }
}

// The actor and the learner compute the same latent for the same frames (the policy's
// start states), so the policy trains on the inputs it acts on. The learner's policy, value
// and reward heads are randomised first, so that a different latent gives a different loss.
class ActorLearnerLatentTest : public PolicyRunnerTest {
 protected:
  void SetUp() override {
    PolicyRunnerTest::SetUp();
    {
      at::NoGradGuard no_grad;
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
      for (auto& item : core_->model()->named_parameters(/*recurse=*/true)) {
        const std::string& name = item.key();
        if (name.rfind("policy.", 0) == 0 || name.rfind("value.", 0) == 0 ||
            name.rfind("reward.", 0) == 0) {
          item.value().add_(at::randn(item.value().sizes(), gen) * 0.3);
        }
      }
    }
    ASSERT_TRUE(NamedTensorsToProto(core_->ActorParameters(), &parameters_).ok());
    ASSERT_TRUE(runner_->Load(parameters_, 4).ok());
    const int size = config_.env().image_size();
    // An episode longer than L, so the batch below starts mid-episode as replay items do.
    for (int t = 0; t < kEpisodeSteps; ++t) {
      std::vector<uint8_t> image(6 * size * size);
      for (size_t i = 0; i < image.size(); ++i) {
        image[i] = static_cast<uint8_t>((i * 13 + t * 57 + (i / 97) * t) % 253);
      }
      std::vector<float> proprio(17);
      for (int i = 0; i < 17; ++i) proprio[i] = 0.3f * std::sin(0.7f * i + 0.9f * t);
      episode_images_.push_back(std::move(image));
      episode_proprio_.push_back(std::move(proprio));
    }
  }

  FrameView EpisodeFrame(int t) const { return {episode_images_[t], episode_proprio_[t]}; }

  // The learner's batch of one sequence of L steps from episode step `first`, built from the
  // raw frames as the learner's batch conversion does (proprio scaled by the config's bounds);
  // actions, rewards and log-densities zero unless the caller sets them.
  model::Batch SequenceFrom(int first) const {
    const model::CoreOptions& o = core_->options();
    const int64_t l = o.loss.sequence_length();
    const int64_t s = o.model.image_size, c = o.model.image_channels, p = o.model.proprio_size;
    std::vector<at::Tensor> images, proprio;
    for (int64_t t = first; t < first + l; ++t) {
      images.push_back(at::from_blob(const_cast<uint8_t*>(episode_images_[t].data()), {c, s, s},
                                     at::kByte).clone());
      proprio.push_back(at::from_blob(const_cast<float*>(episode_proprio_[t].data()), {p},
                                      at::kFloat).clone());
    }
    model::Batch batch;
    batch.images = at::stack(images).unsqueeze(0);
    batch.proprio = model::ScaleProprio(at::stack(proprio).unsqueeze(0),
                                        model::ProprioBoundsFromConfig(config_));
    batch.actions = at::zeros({1, l, o.model.action_size});
    batch.rewards = at::zeros({1, l, o.model.num_tasks});
    batch.behaviour_log_probs = at::zeros({1, l});
    batch.task_ids = at::zeros({1}, at::kLong);
    return batch;
  }

  static constexpr int kEpisodeSteps = 12;
  static constexpr int kFirst = 3;  // The sequence's first episode step.
  std::vector<std::vector<uint8_t>> episode_images_;
  std::vector<std::vector<float>> episode_proprio_;
};

TEST_F(ActorLearnerLatentTest, EveryStartStateEqualsTheActorsLatentForTheSameFrames) {
  const model::CoreOptions& o = core_->options();
  const int h = o.loss.burn_in, l = o.loss.sequence_length();
  const int starts = o.loss.start_states_per_sequence();
  model::Batch batch = SequenceFrom(kFirst);
  ASSERT_FALSE(model::ValidateBatch(batch, o).has_value());
  model::ModelLossTerms terms;
  {
    at::NoGradGuard no_grad;
    terms = model::ComputeModelLoss(*core_->model(), batch, o.loss);
  }
  ASSERT_EQ(terms.start_latents.size(1), starts);
  // The actor at episode step kFirst + t acts on the latent of the last H frames.
  runner_->StartEpisode();
  std::vector<at::Tensor> actor_latents;
  double largest_history_effect = 0;
  for (int t = 0; t < kFirst + l; ++t) {
    auto output = runner_->ActOnNewestFrame(EpisodeFrame(t), 0, /*deterministic=*/true, 1);
    ASSERT_TRUE(output.ok()) << output.status();
    const int step = t - kFirst;  // within the sequence
    if (step < h - 1) continue;
    const at::Tensor actor = at::tensor(output->latent);
    const at::Tensor learner = terms.start_latents[0][step - (h - 1)];
    ASSERT_EQ(actor.numel(), learner.numel());
    EXPECT_TRUE(at::allclose(actor, learner, /*rtol=*/0, /*atol=*/1e-5))
        << "step " << step << ": largest difference "
        << (actor - learner).abs().max().item<double>();
    // The one-pass latent (t + 1 frames of history) differs after the first window: the
    // start states must not be read from it.
    largest_history_effect = std::max(
        largest_history_effect, (terms.latents[0][step] - actor).abs().max().item<double>());
    actor_latents.push_back(actor.view({1, -1}));
  }
  EXPECT_GT(largest_history_effect, 1e-3) << "the frames do not tell the two latents apart";

  // And the learner's policy loss is the loss on exactly these latents, with the actions
  // taken at them.
  const at::Tensor actor_starts = at::cat(actor_latents).unsqueeze(0);  // [1, S, D]
  batch.actions = at::randn({1, l, o.model.action_size});
  batch.policy_noise = core_->DrawPolicyNoise(1);
  const at::Tensor expected =
      model::ComputePolicyLoss(*core_->model(), actor_starts, batch.task_ids, batch.policy_noise,
                               o.loss, batch.actions.slice(1, h - 1, l));
  auto values = core_->ComputeGradients(batch);
  ASSERT_TRUE(values.ok()) << values.error();
  EXPECT_NEAR(values.value().policy, expected.item<double>(),
              1e-5 * std::max(1.0, std::abs(expected.item<double>())));
}

// On-policy data, replayed with the parameters the actor acted with, is on-policy for the
// learner too: every V-trace ratio pi/mu is 1.
TEST_F(ActorLearnerLatentTest, OnPolicyDataGivesVTraceRatiosOfOne) {
  const model::CoreOptions& o = core_->options();
  const int l = o.loss.sequence_length();
  runner_->StartEpisode();
  std::vector<std::vector<float>> samples;
  std::vector<float> log_probs;
  for (int t = 0; t < kEpisodeSteps; ++t) {
    auto output =
        runner_->ActOnNewestFrame(EpisodeFrame(t), 0, /*deterministic=*/false, 1000 + t);
    ASSERT_TRUE(output.ok()) << output.status();
    samples.push_back(output->sample);
    log_probs.push_back(output->log_prob);
  }
  model::Batch batch = SequenceFrom(kFirst);
  for (int t = 0; t < l; ++t) {
    batch.actions[0][t].copy_(at::tensor(samples[kFirst + t]));
    batch.behaviour_log_probs[0][t] = log_probs[kFirst + t];
  }
  at::NoGradGuard no_grad;
  model::ModelLossTerms terms = model::ComputeModelLoss(*core_->model(), batch, o.loss);
  ASSERT_EQ(terms.log_ratios.size(1), o.loss.start_states_per_sequence());
  const at::Tensor ratios = terms.log_ratios.exp();
  EXPECT_TRUE(at::allclose(ratios, at::ones_like(ratios), /*rtol=*/0, /*atol=*/1e-4))
      << "pi/mu per step: " << ratios;
}

TEST_F(PolicyRunnerTest, StartEpisodeForgetsThePreviousEpisodesFrames) {
  runner_->StartEpisode();
  ASSERT_TRUE(runner_->ActOnNewestFrame(Frame(0), 0, true, 1).ok());
  ASSERT_TRUE(runner_->ActOnNewestFrame(Frame(1), 0, true, 1).ok());
  runner_->StartEpisode();
  auto fresh = runner_->ActOnNewestFrame(Frame(2), 0, true, 1);
  auto single = runner_->Act({Frame(2)}, 0, true, 1);
  ASSERT_TRUE(fresh.ok() && single.ok());
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(fresh->mean[i], single->mean[i], 1e-6);
}

TEST_F(PolicyRunnerTest, LogProbIsTheGaussianDensityOfTheAction) {
  auto output = runner_->Act({Frame(0)}, 0, /*deterministic=*/false, 9);
  ASSERT_TRUE(output.ok());
  double expected = 0;
  for (int i = 0; i < 5; ++i) {
    const double z = (output->action[i] - output->mean[i]) / std::exp(output->log_std[i]);
    expected += -0.5 * z * z - output->log_std[i] - 0.5 * std::log(2 * M_PI);
  }
  EXPECT_NEAR(output->log_prob, expected, 1e-4);
  EXPECT_EQ(output->sample, output->action) << "an unsquashed policy executes its sample";
}

// An actor with exploration scale s draws with s times the policy's std, from the same noise
// (same seed), and reports the density of what it drew from; the mean and the deterministic
// action do not change.
TEST_F(PolicyRunnerTest, ExplorationScaleNarrowsTheSampleAndItsReportedDensity) {
  auto full = runner_->Act({Frame(0)}, 0, /*deterministic=*/false, 9);
  ASSERT_TRUE(full.ok());
  runner_->SetExplorationScale(0.25);
  EXPECT_DOUBLE_EQ(runner_->exploration_scale(), 0.25);
  auto narrow = runner_->Act({Frame(0)}, 0, /*deterministic=*/false, 9);
  ASSERT_TRUE(narrow.ok());
  double expected = 0;
  for (int i = 0; i < 5; ++i) {
    EXPECT_FLOAT_EQ(narrow->mean[i], full->mean[i]);
    EXPECT_NEAR(narrow->log_std[i], full->log_std[i] + std::log(0.25), 1e-5);
    EXPECT_NEAR(narrow->sample[i] - narrow->mean[i], 0.25 * (full->sample[i] - full->mean[i]),
                1e-5);
    const double z = (narrow->sample[i] - narrow->mean[i]) / std::exp(narrow->log_std[i]);
    expected += -0.5 * z * z - narrow->log_std[i] - 0.5 * std::log(2 * M_PI);
  }
  EXPECT_NEAR(narrow->log_prob, expected, 1e-4);
  auto deterministic = runner_->Act({Frame(0)}, 0, /*deterministic=*/true, 9);
  ASSERT_TRUE(deterministic.ok());
  EXPECT_EQ(deterministic->action, full->mean);
  EXPECT_EQ(deterministic->log_std, full->log_std) << "deterministic acting reports the policy";
}

// A tanh-squashed policy executes tanh of its Gaussian sample, inside the bounds however far
// the mean is, and reports the sample (what replay stores) with its Gaussian density.
TEST_F(PolicyRunnerTest, TanhSquashedPolicyExecutesTanhOfTheSampleAndKeepsItsDensity) {
  ExperimentConfig config = config_;
  config.mutable_model()->set_tanh_squashed_policy(true);
  auto runner = PolicyRunner::Create(config, /*threads=*/1);
  ASSERT_TRUE(runner.ok()) << runner.status();
  // The policy's output bias (means, then log-stds) at +3 and -3: means near 3, far beyond
  // the bounds before the squash, with std 0.05 (its weights start tiny).
  NamedTensors far = parameters_;
  for (NamedTensor& named : *far.mutable_tensors()) {
    if (named.name() != "policy.fc3.bias") continue;
    auto decoded = TensorFromProto(named.tensor());
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    const int64_t actions = decoded->numel() / 2;
    const at::Tensor bias = at::cat({at::full({actions}, 3.0), at::full({actions}, -3.0)})
                                .to(decoded->scalar_type());
    ASSERT_TRUE(TensorToProto(bias, named.mutable_tensor()).ok());
  }
  ASSERT_TRUE((*runner)->Load(far, 4).ok());
  auto sampled = (*runner)->Act({Frame(0)}, 0, /*deterministic=*/false, 9);
  auto mean = (*runner)->Act({Frame(0)}, 0, /*deterministic=*/true, 9);
  ASSERT_TRUE(sampled.ok() && mean.ok());
  double expected = 0;
  for (int i = 0; i < 5; ++i) {
    EXPECT_GT(sampled->sample[i], 1.0) << "dimension " << i;
    EXPECT_NEAR(sampled->action[i], std::tanh(sampled->sample[i]), 1e-6) << "dimension " << i;
    EXPECT_LT(std::abs(sampled->action[i]), 1.0f) << "dimension " << i;
    EXPECT_EQ(mean->sample[i], mean->mean[i]) << "dimension " << i;
    EXPECT_NEAR(mean->action[i], std::tanh(mean->mean[i]), 1e-6) << "dimension " << i;
    const double z = (sampled->sample[i] - sampled->mean[i]) / std::exp(sampled->log_std[i]);
    expected += -0.5 * z * z - sampled->log_std[i] - 0.5 * std::log(2 * M_PI);
  }
  EXPECT_NEAR(sampled->log_prob, expected, 1e-4);
}

TEST_F(PolicyRunnerTest, IncompleteParameterSetsAreRefusedAndChangeNothing) {
  auto before = runner_->Act({Frame(0)}, 0, true, 1);
  NamedTensors partial = parameters_;
  const std::string dropped = partial.tensors(0).name();
  partial.mutable_tensors()->DeleteSubrange(0, 1);
  const absl::Status status = runner_->Load(partial, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(dropped));
  EXPECT_EQ(runner_->version(), 3);
  auto after = runner_->Act({Frame(0)}, 0, true, 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(before->mean[i], after->mean[i]);
}

// A CEM run's runner acts with the planner's first action on the learned networks, and
// refuses a parameter set without the model the planner needs.
TEST(PolicyRunnerCem, ActsWithThePlannersFirstActionOnTheLearnersNetworks) {
  auto config = LoadExperimentConfig(std::string(IVG_SOURCE_DIR) + "/configs/smoke.textproto",
                                     {"learner.policy_algorithm=POLICY_CEM",
                                      "learner.cem_trajectories=20", "learner.cem_iterations=3",
                                      "learner.cem_elites=4"});
  ASSERT_TRUE(config.ok()) << config.status();
  auto options = model::CoreOptionsFromConfig(*config);
  ASSERT_TRUE(options.ok());
  auto core = model::LearnerCore::Create(*options);
  ASSERT_TRUE(core.ok()) << core.error();
  auto runner = PolicyRunner::Create(*config, /*threads=*/1);
  ASSERT_TRUE(runner.ok()) << runner.status();

  // The encoder and policy alone (an IVG run's set) are not enough to plan.
  std::vector<std::pair<std::string, at::Tensor>> parametric;
  for (auto& [name, tensor] : core.value()->ActorParameters()) {
    if (name.rfind("encoder.", 0) == 0 || name.rfind("policy.", 0) == 0) {
      parametric.emplace_back(name, tensor);
    }
  }
  NamedTensors partial, full;
  ASSERT_TRUE(NamedTensorsToProto(parametric, &partial).ok());
  const absl::Status refused = (*runner)->Load(partial, 1);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("lacks tensor"));
  ASSERT_TRUE(NamedTensorsToProto(core.value()->ActorParameters(), &full).ok());
  ASSERT_TRUE((*runner)->Load(full, 2).ok());

  const int size = config->env().image_size();
  std::vector<uint8_t> image(6 * size * size, 90);
  std::vector<float> proprio(17, 0.1f);
  const FrameView frame{image, proprio};
  auto output = (*runner)->Act({frame}, 0, /*deterministic=*/true, /*seed=*/5);
  ASSERT_TRUE(output.ok()) << output.status();

  // The same plan from the learner's networks on the learner's latent for this frame.
  at::NoGradGuard no_grad;
  model::IvgModelImpl& m = *core.value()->model();
  const at::Tensor pixels =
      at::full({1, 1, 6, size, size}, 90, at::kFloat) / 255.0;
  const at::Tensor scaled = model::ScaleProprio(at::full({1, 1, 17}, 0.1f),
                                                model::ProprioBoundsFromConfig(*config));
  const at::Tensor h = m.encoder->forward(pixels, scaled).select(1, 0);
  model::CemPlan plan = model::PlanWithCem(
      model::LearnedPlanningModel(m.transition, m.reward, m.value, at::zeros({1}, at::kLong),
                                  options->model.num_tasks, options->loss.cem.trajectories,
                                  model::ValueScale(options->loss)),
      h, options->model.action_size, options->loss.cem, options->loss.gamma,
      at::make_generator<at::CPUGeneratorImpl>(5));
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(output->mean[i], plan.mean[0][0][i].item<float>(), 1e-4) << "dimension " << i;
    EXPECT_NEAR(output->log_std[i], std::log(plan.std[0][0][i].item<float>()), 1e-4);
    EXPECT_LE(std::abs(output->action[i]), 1.0f);
  }
}

}  // namespace
}  // namespace ivg::model
