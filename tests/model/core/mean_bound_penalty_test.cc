// The penalty on policy means beyond the action bounds (learner.policy_mean_bound_penalty):
// its value and gradient, that it is what the policy loss adds, and that it gives a mean stuck
// beyond the bounds the gradient that clipped imagination no longer gives.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "model/core/batch.h"
#include "model/core/learner_core.h"
#include "model/core/losses.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

TEST(MeanBeyondBoundsPenalty, MatchesHandComputedValueAndGradient) {
  // Row 0: 0 + 0.5^2 + 1^2 = 1.25; row 1: inside the bounds (1.0 is on them) = 0. Mean 0.625.
  at::Tensor mean =
      at::tensor({0.5, -1.5, 2.0, 1.0, 0.0, -0.9}, at::kDouble).view({2, 3}).requires_grad_();
  at::Tensor penalty = MeanBeyondBoundsPenalty(mean);
  EXPECT_NEAR(penalty.item<double>(), 0.625, 1e-12);
  penalty.backward();
  // d/dmu = 2 (|mu| - 1) sign(mu) / rows: pulls each mean back towards its bound, no further.
  at::Tensor expected =
      at::tensor({0.0, -0.5, 1.0, 0.0, 0.0, 0.0}, at::kDouble).view({2, 3});
  EXPECT_TRUE(at::allclose(mean.grad(), expected)) << mean.grad();
}

using testing::PolicyLossCase;

// Means and log-stds both at `policy_output_bias`; no KL term.
PolicyLossCase MakeCase(double policy_output_bias) {
  CoreOptions options = testing::TinyOptions();
  options.loss.kl_regularization = false;
  return testing::MakePolicyLossCase(options, policy_output_bias, policy_output_bias,
                                     /*batch_seed=*/21);
}

double PolicyLoss(PolicyLossCase& c, double penalty_weight) {
  torch::NoGradGuard no_grad;
  LossOptions o = c.options.loss;
  o.policy_mean_bound_penalty = penalty_weight;
  return ComputePolicyLoss(*c.core->model(), c.latents, c.batch.task_ids, c.noise, o)
      .item<double>();
}

at::Tensor StartMeans(PolicyLossCase& c) { return testing::StartPolicy(c).first; }

TEST(PolicyMeanBoundPenalty, AddsWeightTimesThePenaltyOfTheStartStatesMeans) {
  PolicyLossCase c = MakeCase(/*policy_output_bias=*/1.7);
  const double penalty = MeanBeyondBoundsPenalty(StartMeans(c)).item<double>();
  ASSERT_GT(penalty, 0.1);  // Every mean near 1.7: 0.7^2 per dimension.
  EXPECT_NEAR(PolicyLoss(c, 2.0) - PolicyLoss(c, 0.0), 2.0 * penalty, 1e-5);

  PolicyLossCase inside = MakeCase(/*policy_output_bias=*/0.3);
  EXPECT_EQ(PolicyLoss(inside, 2.0), PolicyLoss(inside, 0.0))
      << "means inside the bounds pay no penalty";
}

// With clipped model actions and every sample beyond the bounds, the objective gives the
// policy no gradient at all (ClipModelActions in losses_test.cc); the penalty's gradient then
// moves the means back towards the bounds.
TEST(PolicyMeanBoundPenalty, PullsMeansStuckBeyondTheBoundsBack) {
  PolicyLossCase c = MakeCase(/*policy_output_bias=*/10.0);
  IvgModelImpl& m = *c.core->model();
  LossOptions o = c.options.loss;
  o.policy_mean_bound_penalty = 1.0;
  const double before = StartMeans(c).mean().item<double>();
  at::Tensor loss = ComputePolicyLoss(m, c.latents, c.batch.task_ids, c.noise, o);
  auto params = m.PolicyParameters();
  auto grads = torch::autograd::grad({loss}, params, {}, false, false, /*allow_unused=*/true);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      if (grads[i].defined()) params[i].sub_(0.01 * grads[i]);
    }
  }
  const double after = StartMeans(c).mean().item<double>();
  EXPECT_LT(after, before - 0.05) << "means before " << before << ", after one step " << after;
  EXPECT_GT(after, 1.0) << "one small step does not overshoot into the bounds";
}

}  // namespace
}  // namespace ivg::model
