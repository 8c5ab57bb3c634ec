// The trust region to the behaviour policy (learner.policy_behaviour_nll_weight): its value,
// that it is what the policy loss adds, and that its gradient moves the policy towards the
// replayed actions.
#include <cmath>
#include <stdexcept>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "model/core/batch.h"
#include "model/core/learner_core.h"
#include "model/core/losses.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

TEST(BehaviourNll, IsTheMeanNegativeGaussianLogDensityOfTheActions) {
  // Row 0: two dimensions at z = 1 and z = -2 with sigma = 0.5; row 1: z = 0 with sigma = 1.
  const at::Tensor actions = at::tensor({1.5, -1.0, 0.3, 0.3}, at::kDouble).view({2, 2});
  const at::Tensor mean = at::tensor({1.0, 0.0, 0.3, 0.3}, at::kDouble).view({2, 2});
  const at::Tensor log_std =
      at::tensor({std::log(0.5), std::log(0.5), 0.0, 0.0}, at::kDouble).view({2, 2});
  const double half_log_two_pi = 0.5 * std::log(2 * M_PI);
  const double row0 = (0.5 * 1 + std::log(0.5) + half_log_two_pi) +
                      (0.5 * 4 + std::log(0.5) + half_log_two_pi);
  const double row1 = 2 * half_log_two_pi;
  EXPECT_NEAR(BehaviourNll(actions, mean, log_std).item<double>(), (row0 + row1) / 2, 1e-12);
}

using testing::PolicyLossCase;
using testing::StartPolicy;

// Every mean near 0.8 with std 1.
PolicyLossCase MakeCase() {
  return testing::MakePolicyLossCase(testing::TinyOptions(), /*mean_bias=*/0.8,
                                     /*log_std_bias=*/0.0, /*batch_seed=*/23);
}

at::Tensor PolicyLoss(PolicyLossCase& c, double weight) {
  LossOptions o = c.options.loss;
  o.policy_behaviour_nll_weight = weight;
  return ComputePolicyLoss(*c.core->model(), c.latents, c.batch.task_ids, c.noise, o,
                           c.batch.actions);
}

TEST(PolicyBehaviourTrustRegion, AddsWeightTimesTheNllOfTheReplayedActionsAtTheirLatents) {
  PolicyLossCase c = MakeCase();
  auto [mean, log_std] = StartPolicy(c);
  const at::Tensor actions = c.batch.actions.reshape({-1, c.options.model.action_size});
  const double nll = BehaviourNll(actions.to(mean.options()), mean, log_std).item<double>();
  torch::NoGradGuard no_grad;
  EXPECT_NEAR(PolicyLoss(c, 3.0).item<double>() - PolicyLoss(c, 0.0).item<double>(), 3.0 * nll,
              1e-4);
  // Off, the loss does not read the actions at all.
  LossOptions o = c.options.loss;
  EXPECT_EQ(ComputePolicyLoss(*c.core->model(), c.latents, c.batch.task_ids, c.noise, o)
                .item<double>(),
            PolicyLoss(c, 0.0).item<double>());
}

TEST(PolicyBehaviourTrustRegion, PullsThePolicyTowardsTheReplayedActions) {
  PolicyLossCase c = MakeCase();
  c.batch.actions.fill_(-0.5);  // The behaviour policy acted at -0.5; the policy says 0.8.
  IvgModelImpl& m = *c.core->model();
  const double before = StartPolicy(c).first.mean().item<double>();
  // A weight that dominates the imagined objective, so the direction is the trust region's.
  at::Tensor loss = PolicyLoss(c, 100.0);
  auto params = m.PolicyParameters();
  auto grads = torch::autograd::grad({loss}, params, {}, false, false, /*allow_unused=*/true);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      if (grads[i].defined()) params[i].sub_(1e-3 * grads[i]);
    }
  }
  const double after = StartPolicy(c).first.mean().item<double>();
  EXPECT_LT(after, before - 0.05) << "mean before " << before << ", after one step " << after;
  EXPECT_GT(after, -0.5) << "one small step does not overshoot the replayed actions";
}

TEST(PolicyBehaviourTrustRegion, WithoutTheBatchsActionsItRefusesInsteadOfDroppingTheTerm) {
  PolicyLossCase c = MakeCase();
  LossOptions o = c.options.loss;
  o.policy_behaviour_nll_weight = 1.0;
  EXPECT_THROW(ComputePolicyLoss(*c.core->model(), c.latents, c.batch.task_ids, c.noise, o),
               std::invalid_argument);
}

}  // namespace
}  // namespace ivg::model
