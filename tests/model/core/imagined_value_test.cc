// The value fitted on the current policy's imagined rollouts (LossOptions::value_target):
// its lambda-returns, what it trains, and that training fits it.
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/utils.h>

#include "model/core/losses.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

// Any gradient reaching `params` from `loss`.
bool AnyGradient(const at::Tensor& loss, const std::vector<at::Tensor>& params) {
  auto grads = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  for (const auto& g : grads) {
    if (g.defined() && g.abs().max().item<double>() > 0) return true;
  }
  return false;
}

TEST(LambdaReturns, AreTheRecursionWrittenOutAndItsTwoLimits) {
  const at::Tensor rewards = at::tensor({1.0, 2.0, 3.0}, at::kDouble).view({3, 1});
  const at::Tensor values = at::tensor({10.0, 20.0, 30.0, 40.0}, at::kDouble).view({4, 1});
  const double gamma = 0.9, lambda = 0.5;
  // R_3 = 40; R_2 = 3 + 0.9 (0.5 * 40 + 0.5 * 40); R_1 = 2 + 0.9 (0.5 * 30 + 0.5 R_2); ...
  const double r2 = 3 + gamma * 40;
  const double r1 = 2 + gamma * (0.5 * 30 + 0.5 * r2);
  const double r0 = 1 + gamma * (0.5 * 20 + 0.5 * r1);
  const at::Tensor r = LambdaReturns(rewards, values, gamma, lambda);
  EXPECT_NEAR(r[0][0].item<double>(), r0, 1e-12);
  EXPECT_NEAR(r[1][0].item<double>(), r1, 1e-12);
  EXPECT_NEAR(r[2][0].item<double>(), r2, 1e-12);
  // lambda = 1: the discounted rewards bootstrapped at the end; lambda = 0: one-step TD.
  EXPECT_NEAR(LambdaReturns(rewards, values, gamma, 1.0)[0][0].item<double>(),
              1 + gamma * 2 + gamma * gamma * 3 + gamma * gamma * gamma * 40, 1e-12);
  EXPECT_NEAR(LambdaReturns(rewards, values, gamma, 0.0)[1][0].item<double>(), 2 + gamma * 30,
              1e-12);
}

// A tiny model with random heads, so rewards and values are not zero everywhere.
struct ImaginedCase {
  CoreOptions options;
  std::unique_ptr<LearnerCore> core;
  Batch batch;
  at::Tensor starts;
  at::Tensor noise;
};

ImaginedCase MakeCase(ValueTarget target) {
  ImaginedCase c;
  c.options = testing::TinyOptions();
  c.options.double_precision = true;
  c.options.model.zero_init_heads = false;
  c.options.loss.value_target = target;
  c.options.loss.imagined_value_lambda = 0.8;
  c.core = testing::MakeCore(c.options);
  c.batch = testing::MakeBatch(c.options, 3, 17);
  c.batch.proprio = c.batch.proprio.to(at::kDouble);
  c.batch.actions = c.batch.actions.to(at::kDouble);
  c.batch.rewards = c.batch.rewards.to(at::kDouble);
  c.batch.behaviour_log_probs = c.batch.behaviour_log_probs.to(at::kDouble);
  {
    torch::NoGradGuard no_grad;
    c.starts = ComputeModelLoss(*c.core->model(), c.batch, c.options.loss).start_latents;
  }
  c.noise = c.core->DrawPolicyNoise(3);
  c.batch.policy_noise = c.noise;
  return c;
}

TEST(ImaginedValueLoss, TargetsAreLambdaReturnsOfThePolicysRolloutFromTheTargetCritic) {
  ImaginedCase c = MakeCase(ValueTarget::kImagined);
  IvgModelImpl& m = *c.core->model();
  const LossOptions& o = c.options.loss;
  // Make the target critic differ from the online value head, so the test tells them apart.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : m.target_value->parameters()) p.add_(at::randn_like(p) * 0.2);
  }
  ImaginedValueTerms terms = ComputeImaginedValueLoss(m, c.starts, c.batch.task_ids, c.noise, o);

  // The same rollout written out step by step.
  torch::NoGradGuard no_grad;
  const int n = o.imagination_horizon;
  const int64_t rows = c.starts.size(0) * c.starts.size(1);
  at::Tensor x = c.starts.reshape({rows, -1});
  const at::Tensor onehot = at::ones({rows, 1}, at::kDouble);
  const at::Tensor ids = at::zeros({rows}, at::kLong);
  const double scale = ValueScale(o);
  std::vector<double> expected_loss_terms;
  std::vector<at::Tensor> r, v = {m.TargetValue(x, onehot) / scale}, xs;
  for (int j = 0; j < n; ++j) {
    xs.push_back(x);
    auto [mean, log_std] = m.policy->forward(x, onehot);
    const at::Tensor a = mean + c.noise[j] * log_std.exp();
    x = m.transition->forward(x, a);
    r.push_back(HeadReward(*m.reward, x, ids) -
                o.kl_lambda * (GaussianLogProb(a, mean, log_std) - StandardNormalLogProb(a)));
    v.push_back(m.TargetValue(x, onehot) / scale);
  }
  // R_j by the recursion, in a plain loop per row.
  const double lambda = o.imagined_value_lambda, gamma = o.gamma;
  double squared_error = 0;
  for (int64_t row = 0; row < rows; ++row) {
    double next = v[n][row].item<double>();
    for (int j = n - 1; j >= 0; --j) {
      next = r[j][row].item<double>() +
             gamma * ((1 - lambda) * v[j + 1][row].item<double>() + lambda * next);
      EXPECT_NEAR(terms.targets[j][row].item<double>(), next, 1e-10) << "j " << j;
      const double predicted = m.Value(xs[j][row].unsqueeze(0), onehot[row].unsqueeze(0))
                                   .item<double>();
      squared_error += std::pow(predicted - next * scale, 2);
    }
  }
  EXPECT_NEAR(terms.loss.item<double>(), squared_error / (rows * n), 1e-10);
}

TEST(ImaginedValueLoss, TrainsTheValueHeadAloneAndTheLearnerStepLowersIt) {
  ImaginedCase c = MakeCase(ValueTarget::kImagined);
  IvgModelImpl& m = *c.core->model();
  ImaginedValueTerms terms =
      ComputeImaginedValueLoss(m, c.starts, c.batch.task_ids, c.noise, c.options.loss);
  EXPECT_TRUE(AnyGradient(terms.loss, m.value->parameters()));
  EXPECT_FALSE(AnyGradient(terms.loss, m.encoder->parameters()));
  EXPECT_FALSE(AnyGradient(terms.loss, m.transition->parameters()));
  EXPECT_FALSE(AnyGradient(terms.loss, m.reward->parameters()));
  EXPECT_FALSE(AnyGradient(terms.loss, m.policy->parameters()));

  // The learner's value term is this loss; steps on the same batch lower it (the target
  // critic stays fixed within a target period).
  auto before = c.core->ComputeGradients(c.batch);
  ASSERT_TRUE(before.ok()) << before.error();
  EXPECT_NEAR(before.value().value, terms.loss.item<double>(), 1e-10);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.core->Step(c.batch).ok());
  const double after =
      ComputeImaginedValueLoss(m, c.starts, c.batch.task_ids, c.noise, c.options.loss)
          .loss.item<double>();
  EXPECT_LT(after, 0.5 * before.value().value)
      << "imagined value loss before " << before.value().value << " after " << after;
}

TEST(ImaginedValueLoss, BothIsTheMeanOfTheVTraceAndTheImaginedLoss) {
  ImaginedCase c = MakeCase(ValueTarget::kBoth);
  IvgModelImpl& m = *c.core->model();
  double vtrace = 0;
  {
    torch::NoGradGuard no_grad;
    vtrace = ComputeModelLoss(m, c.batch, c.options.loss).vtrace_value.item<double>();
  }
  const double imagined =
      ComputeImaginedValueLoss(m, c.starts, c.batch.task_ids, c.noise, c.options.loss)
          .loss.item<double>();
  auto values = c.core->ComputeGradients(c.batch);
  ASSERT_TRUE(values.ok()) << values.error();
  EXPECT_NEAR(values.value().value, 0.5 * (vtrace + imagined), 1e-10);
}

}  // namespace
}  // namespace ivg::model
