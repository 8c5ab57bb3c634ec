// The update step: gradient routing between the two losses, fitting one batch, guard rails,
// the target network, checkpoints and transfer.
#include "model/core/learner_core.h"

#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/nn/functional/upsampling.h>

#include "model/core/losses.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

using ::testing::HasSubstr;

using testing::MakeCore;

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "_" + std::to_string(::getpid()) + ".pt"))
      .string();
}

bool AllParametersEqual(const LearnerCore& a, const LearnerCore& b) {
  auto pa = a.AllParameters(), pb = b.AllParameters();
  if (pa.size() != pb.size()) return false;
  for (size_t i = 0; i < pa.size(); ++i) {
    if (pa[i].first != pb[i].first || !at::equal(pa[i].second, pb[i].second)) return false;
  }
  return true;
}

TEST(LearnerCore, PolicyObjectiveGivesModelParametersNoGradient) {
  CoreOptions o = testing::TinyOptions();
  // With every model-loss weight zero, any model gradient could only come from the policy loss.
  o.loss.reconstruction_weight = 0;
  o.loss.zeta_consistency = 0;
  o.loss.alpha_reward = 0;
  o.loss.beta_value = 0;
  auto core = MakeCore(o);
  auto losses = core->ComputeGradients(testing::MakeBatch(o, 4, 1));
  ASSERT_TRUE(losses.ok()) << losses.error();
  for (const auto& p : core->model()->ModelParameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().abs().max().item<double>(), 0.0);
  }
  double policy_norm = 0;
  for (const auto& p : core->model()->PolicyParameters()) {
    policy_norm += p.grad().pow(2).sum().item<double>();
  }
  EXPECT_GT(policy_norm, 0.0);
}

TEST(LearnerCore, ModelLossGivesPolicyNoGradient) {
  CoreOptions o = testing::TinyOptions();
  auto core = MakeCore(o);
  Batch batch = testing::MakeBatch(o, 4, 2);
  ModelLossTerms terms = ComputeModelLoss(*core->model(), batch, o.loss);
  auto policy_params = core->model()->PolicyParameters();
  auto grads = torch::autograd::grad({terms.total}, policy_params, {}, /*retain_graph=*/true,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  for (const auto& g : grads) {
    if (g.defined()) EXPECT_EQ(g.abs().max().item<double>(), 0.0);
  }
  // And the step's policy gradient is exactly the policy loss's own gradient.
  batch.policy_noise = core->DrawPolicyNoise(4);
  at::Tensor alone = ComputePolicyLoss(*core->model(), terms.start_latents, batch.task_ids,
                                       batch.policy_noise, o.loss);
  auto expected = torch::autograd::grad({alone}, policy_params);
  ASSERT_TRUE(core->ComputeGradients(batch).ok());
  for (size_t i = 0; i < policy_params.size(); ++i) {
    EXPECT_TRUE(at::allclose(policy_params[i].grad(), expected[i], 1e-5, 1e-7)) << i;
  }
}

TEST(ModelLoss, TermsMatchAnExplicitRolloutWithRewardsAfterTheAction) {
  // Pins the time alignment: g_{t+1} = f(g_t, a_t) from g_H = e_H, r_hat(g_{t+1}) vs r_t,
  // V(g_t) vs the V-trace target of time t, consistency e_t vs g_t.
  CoreOptions o = testing::TinyOptions();
  o.double_precision = true;
  o.loss.scale_value_by_one_minus_gamma = false;
  auto core = MakeCore(o);
  IvgModelImpl& m = *core->model();
  Batch batch = testing::MakeBatch(o, 3, 21);
  batch.rewards = at::randn({3, 5, 1}, at::kDouble);
  batch.actions = batch.actions.to(at::kDouble);
  batch.proprio = batch.proprio.to(at::kDouble);
  batch.behaviour_log_probs = batch.behaviour_log_probs.to(at::kDouble);
  ModelLossTerms terms = ComputeModelLoss(m, batch, o.loss);

  at::NoGradGuard no_grad;
  const int h = o.loss.burn_in, l = o.loss.sequence_length();
  at::Tensor images = batch.images.to(at::kDouble) / 255.0;
  at::Tensor e = m.encoder->forward(images, batch.proprio);
  at::Tensor onehot = at::ones({3, 1}, at::kDouble);
  double reward_sum = 0, consistency_sum = 0, value_sum = 0;
  at::Tensor g = e.select(1, h - 1);
  for (int t = h; t < l; ++t) {
    g = m.transition->forward(g, batch.actions.select(1, t - 1));
    reward_sum += (m.reward->forward(g).squeeze(1) - batch.rewards.select(1, t - 1).squeeze(1))
                      .pow(2).sum().item<double>();
    consistency_sum += (e.select(1, t) - g).pow(2).mean(1).sum().item<double>();
    // vtrace_targets cover steps H-1 .. L-1.
    value_sum += (m.Value(g, onehot) - terms.vtrace_targets.select(1, t - h + 1))
                     .pow(2).sum().item<double>();
  }
  const double n = 3.0 * (l - h);
  EXPECT_NEAR(terms.reward.item<double>(), reward_sum / n, 1e-10);
  EXPECT_NEAR(terms.consistency.item<double>(), consistency_sum / n, 1e-10);
  EXPECT_NEAR(terms.value.item<double>(), value_sum / n, 1e-10);
  // The last target bootstraps from the target network's value of the last step.
  at::Tensor u_last = m.TargetValue(m.target_encoder->forward(images, batch.proprio), 
                                    at::ones({3, l, 1}, at::kDouble)).select(1, l - 1);
  EXPECT_TRUE(at::allclose(terms.vtrace_targets.select(1, l - h), u_last, 1e-12, 1e-12));
}

TEST(LearnerCore, ModelLossFallsByHalfFittingOneBatch) {
  CoreOptions o = testing::TinyOptions();
  o.optimizer.model_learning_rate = 3e-3;
  auto core = MakeCore(o);
  Batch batch = testing::MakeBatch(o, 4, 3);
  double first = 0, last = 0;
  for (int i = 0; i < 200; ++i) {
    auto stats = core->Step(batch);
    ASSERT_TRUE(stats.ok()) << stats.error();
    ASSERT_TRUE(stats.value().applied) << stats.value().skip_reason;
    if (i == 0) first = stats.value().losses.model_total;
    last = stats.value().losses.model_total;
  }
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

TEST(LearnerCore, RejectsWrongShapeBatchNamingExpectedAndReceivedShape) {
  CoreOptions o = testing::TinyOptions();
  auto core = MakeCore(o);
  Batch batch = testing::MakeBatch(o, 4, 4);
  batch.proprio = at::zeros({4, 5, 7});
  auto stats = core->Step(batch);
  ASSERT_FALSE(stats.ok());
  EXPECT_THAT(stats.error(), HasSubstr("proprio"));
  EXPECT_THAT(stats.error(), HasSubstr("[4, 5, 7]"));
  EXPECT_THAT(stats.error(), HasSubstr("expected [4, 5, 3]"));
  EXPECT_EQ(core->step(), 0);

  Batch short_batch = testing::MakeBatch(o, 4, 4);
  short_batch.images = short_batch.images.slice(1, 0, 4);
  auto short_stats = core->Step(short_batch);
  ASSERT_FALSE(short_stats.ok());
  EXPECT_THAT(short_stats.error(), HasSubstr("expected [4, 5, 6, 64, 64]"));
}

TEST(LearnerCore, SkipsNonFiniteStepsCountsThemAndStopsNamingTheTerm) {
  CoreOptions o = testing::TinyOptions();
  o.optimizer.max_consecutive_nonfinite_steps = 3;
  auto core = MakeCore(o);
  Batch good = testing::MakeBatch(o, 4, 5);
  Batch bad = testing::MakeBatch(o, 4, 5);
  bad.rewards[1][3][0] = std::numeric_limits<float>::quiet_NaN();
  auto before = core->AllParameters();
  std::vector<at::Tensor> snapshot;
  for (auto& p : before) snapshot.push_back(p.second.clone());

  auto s1 = core->Step(bad);
  ASSERT_TRUE(s1.ok()) << s1.error();
  EXPECT_FALSE(s1.value().applied);
  EXPECT_EQ(s1.value().consecutive_nonfinite, 1);
  EXPECT_THAT(s1.value().skip_reason, HasSubstr("reward"));
  for (size_t i = 0; i < snapshot.size(); ++i) EXPECT_TRUE(at::equal(snapshot[i], before[i].second));
  EXPECT_EQ(core->step(), 0);

  // A good step resets the count.
  ASSERT_TRUE(core->Step(good).value().applied);
  ASSERT_TRUE(core->Step(bad).ok());
  auto s2 = core->Step(bad);
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2.value().consecutive_nonfinite, 2);
  auto s3 = core->Step(bad);
  ASSERT_FALSE(s3.ok());
  EXPECT_THAT(s3.error(), HasSubstr("3 consecutive"));
  EXPECT_THAT(s3.error(), HasSubstr("'reward'"));
}

TEST(LearnerCore, RefreshesTargetNetworkEveryCSteps) {
  CoreOptions o = testing::TinyOptions();
  o.optimizer.target_update_period = 2;
  auto core = MakeCore(o);
  Batch batch = testing::MakeBatch(o, 2, 6);
  auto& m = core->model();
  auto target_equals_online = [&] {
    auto online = m->value->parameters(), target = m->target_value->parameters();
    for (size_t i = 0; i < online.size(); ++i) {
      if (!at::equal(online[i], target[i])) return false;
    }
    auto enc = m->encoder->parameters(), tenc = m->target_encoder->parameters();
    for (size_t i = 0; i < enc.size(); ++i) {
      if (!at::equal(enc[i], tenc[i])) return false;
    }
    return true;
  };
  EXPECT_TRUE(target_equals_online());
  auto s1 = core->Step(batch);
  ASSERT_TRUE(s1.ok());
  EXPECT_FALSE(s1.value().target_updated);
  EXPECT_FALSE(target_equals_online());
  auto s2 = core->Step(batch);
  ASSERT_TRUE(s2.ok());
  EXPECT_TRUE(s2.value().target_updated);
  EXPECT_TRUE(target_equals_online());
  EXPECT_EQ(core->target_updates(), 1);
}

TEST(LearnerCore, ResumedCheckpointContinuesExactlyLikeAnUninterruptedRun) {
  CoreOptions o = testing::TinyOptions();
  o.optimizer.target_update_period = 4;  // A target refresh falls inside the compared steps.
  std::vector<Batch> batches;
  for (int i = 0; i < 8; ++i) batches.push_back(testing::MakeBatch(o, 2, 100 + i));
  const std::string path = TempPath("ivg_resume");

  auto uninterrupted = MakeCore(o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(uninterrupted->Step(batches[i]).ok());
  ASSERT_FALSE(uninterrupted->SaveCheckpoint(path, "config: test").has_value());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  o.seed = 999;  // The resumed learner starts from other parameters and noise.
  auto resumed = MakeCore(o);
  ASSERT_FALSE(AllParametersEqual(*uninterrupted, *resumed));
  auto metadata = resumed->LoadCheckpoint(path);
  ASSERT_TRUE(metadata.ok()) << metadata.error();
  EXPECT_EQ(metadata.value(), "config: test");
  EXPECT_EQ(resumed->step(), 3);
  for (int i = 3; i < 8; ++i) {
    auto a = uninterrupted->Step(batches[i]);
    auto b = resumed->Step(batches[i]);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a.value().losses.policy, b.value().losses.policy) << "step " << i;
    EXPECT_EQ(a.value().losses.model_total, b.value().losses.model_total) << "step " << i;
    EXPECT_TRUE(AllParametersEqual(*uninterrupted, *resumed)) << "step " << i;
  }
  std::remove(path.c_str());
}

TEST(LearnerCore, RefusesCheckpointOfOtherNetworkSizes) {
  CoreOptions o = testing::TinyOptions();
  const std::string path = TempPath("ivg_sizes");
  ASSERT_FALSE(MakeCore(o)->SaveCheckpoint(path, "").has_value());
  o.model.latent_size = 12;
  auto other = MakeCore(o);
  auto loaded = other->LoadCheckpoint(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error(), HasSubstr("latent=8"));
  std::remove(path.c_str());
}

TEST(LearnerCore, TransferCopiesEncoderTransitionDecoderAndKeepsFreshHeads) {
  CoreOptions o = testing::TinyOptions();
  auto source = MakeCore(o);
  ASSERT_TRUE(source->Step(testing::MakeBatch(o, 2, 7)).ok());
  const std::string path = TempPath("ivg_transfer");
  ASSERT_FALSE(source->SaveCheckpoint(path, "").has_value());

  CoreOptions target_options = o;
  target_options.seed = 42;
  target_options.model.num_tasks = 3;  // Multi-task heads differ in size; the body does not.
  auto target = MakeCore(target_options);
  auto fresh_policy = target->model()->policy->parameters();
  std::vector<at::Tensor> fresh;
  for (auto& p : fresh_policy) fresh.push_back(p.clone());
  ASSERT_FALSE(target->LoadTransfer(path).has_value());

  auto expect_equal = [](torch::nn::Module& a, torch::nn::Module& b) {
    auto pa = a.parameters(), pb = b.parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(at::equal(pa[i], pb[i]));
  };
  expect_equal(*source->model()->encoder, *target->model()->encoder);
  expect_equal(*source->model()->transition, *target->model()->transition);
  expect_equal(*source->model()->decoder, *target->model()->decoder);
  expect_equal(*target->model()->encoder, *target->model()->target_encoder);
  for (size_t i = 0; i < fresh.size(); ++i) {
    EXPECT_TRUE(at::equal(fresh[i], target->model()->policy->parameters()[i]));
  }
  std::remove(path.c_str());
}

TEST(LearnerCore, RanksShareTheirNetworksButDrawDifferentPolicyNoise) {
  CoreOptions o = testing::TinyOptions();
  o.noise_stream = 0;
  auto rank0 = MakeCore(o);
  o.noise_stream = 1;
  auto rank1 = MakeCore(o);
  auto p0 = rank0->AllParameters(), p1 = rank1->AllParameters();
  ASSERT_EQ(p0.size(), p1.size());
  for (size_t i = 0; i < p0.size(); ++i) EXPECT_TRUE(at::equal(p0[i].second, p1[i].second));
  const at::Tensor noise0 = rank0->DrawPolicyNoise(/*batch_size=*/2);
  const at::Tensor noise1 = rank1->DrawPolicyNoise(/*batch_size=*/2);
  EXPECT_FALSE(at::allclose(noise0, noise1));
  // The same rank draws the same stream again (reproducible runs).
  o.noise_stream = 0;
  EXPECT_TRUE(at::equal(MakeCore(o)->DrawPolicyNoise(2), noise0));
}

TEST(LearnerCore, RejectsIvgWithHorizonZeroInsteadOfSwitchingAlgorithm) {
  CoreOptions o = testing::TinyOptions();
  o.loss.imagination_horizon = 0;
  o.loss.policy_algorithm = PolicyAlgorithm::kIvg;
  auto core = LearnerCore::Create(o);
  ASSERT_FALSE(core.ok());
  EXPECT_THAT(core.error(), HasSubstr("imagination_horizon 0 needs policy_algorithm kSvg0"));
}

TEST(LearnerCore, Svg0TrainsTheQCriticWhenHorizonIsZero) {
  CoreOptions o = testing::TinyOptions();
  o.loss.imagination_horizon = 0;
  o.loss.policy_algorithm = PolicyAlgorithm::kSvg0;
  o.loss.kl_lambda = 1e-3;
  auto core = MakeCore(o);
  ASSERT_TRUE(core->model()->q);
  auto stats = core->Step(testing::MakeBatch(o, 2, 9));
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_TRUE(stats.value().applied);
  EXPECT_GT(stats.value().losses.q, 0.0);
  EXPECT_GT(stats.value().policy_grad_norm, 0.0);
}

// Whether any of `params` receives a non-zero gradient from `loss`.
bool AnyGradient(const at::Tensor& loss, const std::vector<at::Tensor>& params) {
  auto grads = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  for (const at::Tensor& g : grads) {
    if (g.defined() && g.abs().sum().item<double>() > 0) return true;
  }
  return false;
}

TEST(ModelLoss, ModelFreeSvg0TrainsTheEncoderThroughValueAndQAlone) {
  CoreOptions o = testing::TinyOptions();
  o.loss.imagination_horizon = 0;
  o.loss.policy_algorithm = PolicyAlgorithm::kSvg0;
  // Zero output layers pass no gradient back until their first update; start them random so
  // that the encoder's gradient from the heads shows at once.
  o.model.zero_init_heads = false;
  auto core = MakeCore(o);
  IvgModelImpl& model = *core->model();
  Batch batch = testing::MakeBatch(o, 2, 9);
  ModelLossTerms terms = ComputeModelLoss(model, batch, o.loss);
  EXPECT_EQ(terms.reconstruction_image.item<double>(), 0.0);
  EXPECT_EQ(terms.consistency.item<double>(), 0.0);
  EXPECT_EQ(terms.reward.item<double>(), 0.0);
  EXPECT_GT(terms.q.item<double>(), 0.0);
  EXPECT_FALSE(AnyGradient(terms.total, model.decoder->parameters()));
  EXPECT_FALSE(AnyGradient(terms.total, model.transition->parameters()));
  EXPECT_FALSE(AnyGradient(terms.total, model.reward->parameters()));
  EXPECT_TRUE(AnyGradient(terms.total, model.encoder->parameters()));
  // The value regresses on the actors' latents of every step with H frames up to it (steps
  // H-1 .. L-1), not on predicted ones.
  const int64_t starts = o.loss.start_states_per_sequence();
  ASSERT_EQ(terms.start_latents.size(1), starts);
  ASSERT_EQ(terms.vtrace_targets.size(1), starts);
  at::Tensor onehot = TaskOneHot(batch.task_ids, o.model.num_tasks, terms.start_latents)
                          .unsqueeze(1)
                          .expand({2, starts, o.model.num_tasks});
  at::Tensor expected =
      (model.Value(terms.start_latents, onehot) - terms.vtrace_targets * ValueScale(o.loss))
          .pow(2)
          .mean();
  EXPECT_NEAR(terms.value.item<double>(), expected.item<double>(), 1e-7);

  // With the model loss as an auxiliary signal (the paper's IVG(0)) the model trains too.
  o.loss.svg0_model_loss = true;
  ModelLossTerms with_model = ComputeModelLoss(model, batch, o.loss);
  EXPECT_GT(with_model.reconstruction_image.item<double>(), 0.0);
  EXPECT_TRUE(AnyGradient(with_model.total, model.decoder->parameters()));
  EXPECT_TRUE(AnyGradient(with_model.total, model.transition->parameters()));
}

TEST(LearnerCore, PgDrawsNoisePerRolloutAndTrainsThePolicy) {
  CoreOptions o = testing::TinyOptions();
  o.loss.policy_algorithm = PolicyAlgorithm::kPg;
  o.loss.pg_rollouts = 7;
  auto core = MakeCore(o);
  at::Tensor noise = core->DrawPolicyNoise(2);
  EXPECT_EQ(noise.sizes(),
            (std::vector<int64_t>{3, 2 * o.loss.start_states_per_sequence() * 7, 2}));
  Batch batch = testing::MakeBatch(o, 2, 9);
  auto stats = core->Step(batch);
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_TRUE(stats.value().applied);
  EXPECT_GT(stats.value().policy_grad_norm, 0.0);
  // Noise drawn for one rollout per start state does not fit a PG batch.
  batch.policy_noise = at::randn({3, 2 * o.loss.start_states_per_sequence(), 2});
  auto refused = core->Step(batch);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error(), HasSubstr("policy_noise"));
}

TEST(LearnerCore, CemTrainsTheModelAndPublishesWhatThePlannerNeeds) {
  CoreOptions o = testing::TinyOptions();
  o.loss.policy_algorithm = PolicyAlgorithm::kCem;
  o.loss.cem.trajectories = 16;
  o.loss.cem.iterations = 2;
  o.loss.cem.elites = 4;
  auto core = MakeCore(o);
  auto stats = core->Step(testing::MakeBatch(o, 2, 9));
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_TRUE(stats.value().applied);
  EXPECT_GT(stats.value().model_grad_norm, 0.0);
  EXPECT_EQ(stats.value().policy_grad_norm, 0.0);  // no parametric policy to train
  std::set<std::string> prefixes;
  for (const auto& [name, unused] : core->ActorParameters()) {
    prefixes.insert(name.substr(0, name.find('.')));
  }
  EXPECT_EQ(prefixes, (std::set<std::string>{"encoder", "policy", "transition", "reward", "value"}));
  // An IVG run's actors get the encoder and the policy only.
  auto ivg = MakeCore(testing::TinyOptions());
  prefixes.clear();
  for (const auto& [name, unused] : ivg->ActorParameters()) {
    prefixes.insert(name.substr(0, name.find('.')));
  }
  EXPECT_EQ(prefixes, (std::set<std::string>{"encoder", "policy"}));
}

TEST(Networks, DecoderProducesSixChannelImagesAndUpsamplingSumsChannelGroups) {
  CoreOptions o = testing::TinyOptions();
  auto core = MakeCore(o);
  auto [logits, proprio] = core->model()->decoder->forward(at::randn({2, 3, 8}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 3, 6, 64, 64}));
  EXPECT_EQ(proprio.sizes(), (std::vector<int64_t>{2, 3, 3}));
  // Constant channels c -> bilinear keeps them -> groups of four sum to 0+1+2+3 and 4+..+7.
  at::Tensor x = at::arange(8, at::kFloat).view({1, 8, 1, 1}).expand({1, 8, 4, 4}).contiguous();
  at::Tensor up = BilinearAdditiveUpsample(x);
  EXPECT_EQ(up.sizes(), (std::vector<int64_t>{1, 2, 8, 8}));
  EXPECT_TRUE(at::allclose(up[0][0], at::full({8, 8}, 6.0)));
  EXPECT_TRUE(at::allclose(up[0][1], at::full({8, 8}, 22.0)));
}

TEST(Networks, UpsamplingEqualsBilinearOfEveryChannelThenGroupSums) {
  // The definition (Wojna et al.): interpolate every channel, then sum groups of four. The
  // decoder sums first and interpolates the sums, which must be the same function.
  at::Tensor x = at::randn({3, 8, 5, 5}, at::kDouble);
  at::Tensor every_channel = torch::nn::functional::interpolate(
      x, torch::nn::functional::InterpolateFuncOptions()
             .scale_factor(std::vector<double>{2.0, 2.0})
             .mode(torch::kBilinear)
             .align_corners(false));
  at::Tensor definition = every_channel.view({3, 2, 4, 10, 10}).sum(2);
  EXPECT_TRUE(at::allclose(BilinearAdditiveUpsample(x), definition, 1e-12, 1e-12));
}


TEST(Networks, SpatialSoftArgmaxReturnsWhereEachChannelPeaks) {
  // Channel 0 peaks at row 1, column 6 of an 8x8 map; channel 1 at row 7, column 0. With a
  // sharp peak the expectation is the grid point itself: x = -1 + 2 * col / 7.
  at::Tensor x = at::zeros({1, 2, 8, 8}, at::kDouble);
  x[0][0][1][6] = 50.0;
  x[0][1][7][0] = 50.0;
  at::Tensor keypoints = SpatialSoftArgmax(x);
  ASSERT_EQ(keypoints.sizes(), (std::vector<int64_t>{1, 4}));
  EXPECT_NEAR(keypoints[0][0].item<double>(), -1.0 + 2.0 * 6 / 7, 1e-9);  // x of channel 0
  EXPECT_NEAR(keypoints[0][1].item<double>(), -1.0, 1e-9);                // x of channel 1
  EXPECT_NEAR(keypoints[0][2].item<double>(), -1.0 + 2.0 * 1 / 7, 1e-9);  // y of channel 0
  EXPECT_NEAR(keypoints[0][3].item<double>(), 1.0, 1e-9);                 // y of channel 1
  // A flat map: every position equally likely, the expectation is the centre.
  EXPECT_TRUE(at::allclose(SpatialSoftArgmax(at::zeros({3, 2, 8, 8}, at::kDouble)),
                          at::zeros({3, 4}, at::kDouble), /*rtol=*/0, /*atol=*/1e-12));
}

TEST(Networks, EveryEncoderPoolingEncodesAndTrainsAtItsFeatureSize) {
  for (EncoderPooling pooling : {EncoderPooling::kAverage, EncoderPooling::kSpatialSoftmax,
                                 EncoderPooling::kFlatten}) {
    CoreOptions o = testing::TinyOptions();
    o.model.encoder_pooling = pooling;
    const int expected = pooling == EncoderPooling::kAverage          ? 4
                         : pooling == EncoderPooling::kSpatialSoftmax ? 8
                                                                      : 4 * 8 * 8;
    EXPECT_EQ(ImageFeatureSize(o.model), expected);
    auto core = MakeCore(o);
    ASSERT_NE(core, nullptr);
    Batch batch = testing::MakeBatch(o, /*batch_size=*/2, /*seed=*/3);
    auto step = core->Step(batch);
    ASSERT_TRUE(step.ok()) << step.error();
    EXPECT_TRUE(step.value().applied);
    // The pooling choice is part of the networks' identity: a checkpoint of one does not
    // load into another, and the fingerprint says which.
    const std::string fingerprint = ModelOptionsFingerprint(o.model);
    EXPECT_EQ(fingerprint.find(",pool=") == std::string::npos,
              pooling == EncoderPooling::kAverage)
        << fingerprint;
  }
}


TEST(LearnerCore, ImaginedObjectiveLeavesOutTheRegularisersAddedToThePolicyLoss) {
  CoreOptions o = testing::TinyOptions();
  o.loss.policy_behaviour_nll_weight = 0.5;
  o.loss.policy_mean_bound_penalty = 2.0;
  auto core = testing::MakeCore(o);
  {
    // Means beyond the bounds, so the penalty is not zero.
    torch::NoGradGuard no_grad;
    core->model()->policy->named_parameters()["fc3.bias"].slice(0, 0, o.model.action_size).fill_(1.5);
  }
  auto stats = core->Step(testing::MakeBatch(o, 2, 5));
  ASSERT_TRUE(stats.ok()) << stats.error();
  const StepDiagnostics& d = stats.value().diagnostics;
  EXPECT_TRUE(std::isfinite(d.behaviour_nll));
  EXPECT_GT(d.behaviour_nll, 0.0);
  // Every mean entry near 1.5: 0.5^2 per action dimension.
  const double penalty = 0.25 * o.model.action_size;
  EXPECT_NEAR(d.imagined_objective,
              -stats.value().losses.policy + 0.5 * d.behaviour_nll + 2.0 * penalty, 1e-2);
}

TEST(LearnerCore, StepReportsPolicyValueAndPerModuleGradientDiagnostics) {
  CoreOptions o = testing::TinyOptions();
  auto core = testing::MakeCore(o);
  auto stats = core->Step(testing::MakeBatch(o, 2, 3));
  ASSERT_TRUE(stats.ok()) << stats.error();
  const StepDiagnostics& d = stats.value().diagnostics;
  for (const char* module : {"encoder", "transition", "decoder", "heads", "policy"}) {
    ASSERT_EQ(d.grad_norms.count(module), 1u) << module;
    EXPECT_GT(d.grad_norms.at(module), 0.0) << module;
  }
  EXPECT_EQ(d.grad_norms.count("target_encoder"), 0u);
  EXPECT_DOUBLE_EQ(d.imagined_objective, -stats.value().losses.policy);
  EXPECT_GT(d.policy_abs_mean_action, 0.0);
  EXPECT_GE(d.policy_mean_outside_bounds, 0.0);
  EXPECT_LE(d.policy_mean_outside_bounds, 1.0);
  EXPECT_TRUE(std::isfinite(d.value_mean) && std::isfinite(d.value_target_mean));
  // Zero-initialised heads predict a constant (0), which explains none of the variance of
  // the batch's (random, varying) rewards and targets: exactly 0.
  EXPECT_NEAR(d.reward_explained_variance, 0.0, 1e-9);
  EXPECT_NEAR(d.open_loop_reward_explained_variance, 0.0, 1e-9);
  EXPECT_NEAR(d.value_explained_variance, 0.0, 1e-9);
}

TEST(ExplainedVariance, OneWhenExactZeroForTheMeanNegativeWhenWorseNanWithoutVariance) {
  const at::Tensor y = at::tensor({1.0, 2.0, 4.0, 7.0});
  EXPECT_DOUBLE_EQ(ExplainedVariance(y, y), 1.0);
  EXPECT_NEAR(ExplainedVariance(at::full_like(y, 3.5), y), 0.0, 1e-12);
  // An offset costs nothing (the variance of the error is the same); a scale does.
  EXPECT_NEAR(ExplainedVariance(y + 10.0, y), 1.0, 1e-12);
  EXPECT_NEAR(ExplainedVariance(0.5 * y, y), 0.75, 1e-12);
  EXPECT_LT(ExplainedVariance(-y, y), 0.0);
  EXPECT_TRUE(std::isnan(ExplainedVariance(y, at::full_like(y, 2.0))));
}

TEST(LearnerCore, ZeroInitialisedHeadsPredictZeroEverywhere) {
  CoreOptions o = testing::TinyOptions();
  ASSERT_TRUE(o.model.zero_init_heads);
  auto core = testing::MakeCore(o);
  const at::Tensor h = at::randn({7, o.model.latent_size});
  const at::Tensor onehot = at::ones({7, o.model.num_tasks});
  EXPECT_EQ(core->model()->Value(h, onehot).abs().max().item<double>(), 0.0);
  EXPECT_EQ(core->model()->TargetValue(h, onehot).abs().max().item<double>(), 0.0);
  EXPECT_EQ(core->model()->reward->forward(h).abs().max().item<double>(), 0.0);
  // The output layer still learns: one step moves V away from 0.
  ASSERT_TRUE(core->Step(testing::MakeBatch(o, 2, 3)).ok());
  EXPECT_GT(core->model()->Value(h, onehot).abs().max().item<double>(), 0.0);

  o.model.zero_init_heads = false;
  auto random_heads = testing::MakeCore(o);
  EXPECT_GT(random_heads->model()->Value(h, onehot).abs().max().item<double>(), 0.0);
}

// One policy update on a fixed model raises the imagined objective for the same noise.
TEST(LearnerCore, OnePolicyUpdateRaisesTheImaginedObjective) {
  CoreOptions o = testing::TinyOptions();
  o.optimizer.model_learning_rate = 0;  // A fixed model.
  o.optimizer.policy_learning_rate = 1e-3;
  o.optimizer.max_grad_norm = 0;  // No clipping: a plain Adam step.
  // Random value and reward heads, so the objective has a value gradient and not only the
  // KL term (zero-initialised heads give V = r = 0 for every action).
  o.model.zero_init_heads = false;
  auto core = testing::MakeCore(o);
  Batch batch = testing::MakeBatch(o, 2, 5);
  batch.policy_noise = core->DrawPolicyNoise(2);
  auto before = core->ComputeGradients(batch);
  ASSERT_TRUE(before.ok()) << before.error();
  ASSERT_TRUE(core->Step(batch).ok());
  auto after = core->ComputeGradients(batch);
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_LT(after.value().policy, before.value().policy)
      << "policy loss (-objective) before " << before.value().policy << " after "
      << after.value().policy;
}

}  // namespace
}  // namespace ivg::model
