// The cross-entropy planner on closed-form models: it improves the imagined return over its
// first iteration, keeps every action in [-1, 1], plans reproducibly from a seed, and plans
// on the learned networks as LearnedPlanningModel wires them.
#include "model/core/cem.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "model/core/losses.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

// x' = x + 0.5 a in 2-D; reward -|x' - target|^2 after each action; V = 0.
PlanningModel Reach(const at::Tensor& target) {
  PlanningModel m;
  m.transition = [](const at::Tensor& x, const at::Tensor& a) { return x + 0.5 * a; };
  m.reward = [target](const at::Tensor& x) { return -(x - target).pow(2).sum(1); };
  m.value = [](const at::Tensor& x) { return at::zeros({x.size(0)}, x.options()); };
  return m;
}

CemOptions SmallSearch() {
  CemOptions o;
  o.horizon = 3;
  o.trajectories = 64;
  o.iterations = 6;
  o.elites = 8;
  return o;
}

at::Generator Seeded(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

TEST(PlanWithCem, ImprovesTheImaginedReturnOverItsFirstIteration) {
  const at::Tensor target = at::tensor({0.8, -0.6}, at::kDouble);
  const at::Tensor x0 = at::zeros({4, 2}, at::kDouble);
  CemPlan plan = PlanWithCem(Reach(target), x0, /*action_size=*/2, SmallSearch(), 0.9, Seeded(3));
  ASSERT_EQ(plan.elite_scores.sizes(), (std::vector<int64_t>{6, 4}));
  for (int64_t s = 0; s < 4; ++s) {
    EXPECT_GT(plan.elite_scores[5][s].item<double>(), plan.elite_scores[0][s].item<double>())
        << "start " << s;
  }
  // The first action heads for the target: x1 = 0.5 a, so a ~ 2 * target, clipped to 1.
  const at::Tensor first = plan.mean.select(1, 0);
  EXPECT_GT(first.select(1, 0).min().item<double>(), 0.5);
  EXPECT_LT(first.select(1, 1).max().item<double>(), -0.5);
  EXPECT_GE(plan.std.min().item<double>(), SmallSearch().min_std);
}

TEST(PlanWithCem, RespectsTheActionBoundsWhenTheOptimumLiesBeyondThem) {
  // Out of reach: the best the environment can execute is full speed towards it, a = (1, -1).
  const at::Tensor target = at::tensor({5.0, -5.0}, at::kDouble);
  const at::Tensor x0 = at::zeros({2, 2}, at::kDouble);
  CemPlan plan = PlanWithCem(Reach(target), x0, 2, SmallSearch(), 0.9, Seeded(4));
  EXPECT_LE(plan.mean.abs().max().item<double>(), 1.0);
  EXPECT_NEAR(plan.mean[0][0][0].item<double>(), 1.0, 0.1);
  EXPECT_NEAR(plan.mean[0][0][1].item<double>(), -1.0, 0.1);
}

TEST(PlanWithCem, TheSameSeedGivesTheSamePlan) {
  const at::Tensor target = at::tensor({0.3, 0.2}, at::kDouble);
  const at::Tensor x0 = at::randn({3, 2}, at::kDouble);
  CemPlan a = PlanWithCem(Reach(target), x0, 2, SmallSearch(), 0.9, Seeded(7));
  CemPlan b = PlanWithCem(Reach(target), x0, 2, SmallSearch(), 0.9, Seeded(7));
  CemPlan c = PlanWithCem(Reach(target), x0, 2, SmallSearch(), 0.9, Seeded(8));
  EXPECT_TRUE(at::equal(a.mean, b.mean));
  EXPECT_FALSE(at::equal(a.mean, c.mean));
}

TEST(PlanWithCem, ScoresBootstrapTheValueAfterTheHorizon) {
  // No reward; V(x) = x_0: the plan drives the first coordinate up at full speed.
  PlanningModel m;
  m.transition = [](const at::Tensor& x, const at::Tensor& a) { return x + a; };
  m.reward = [](const at::Tensor& x) { return at::zeros({x.size(0)}, x.options()); };
  m.value = [](const at::Tensor& x) { return x.select(1, 0); };
  CemPlan plan = PlanWithCem(m, at::zeros({1, 2}, at::kDouble), 2, SmallSearch(), 0.9, Seeded(5));
  EXPECT_GT(plan.mean.select(2, 0).min().item<double>(), 0.8);
}

TEST(CemActionDistribution, PlansOnTheLearnedNetworksForEveryLatent) {
  CoreOptions o = testing::TinyOptions();
  o.loss.policy_algorithm = PolicyAlgorithm::kCem;
  o.loss.cem = SmallSearch();
  auto core = testing::MakeCore(o);
  IvgModelImpl& model = *core->model();
  at::manual_seed(12);
  const at::Tensor latents = at::randn({2, 3, o.model.latent_size});
  const at::Tensor task_ids = at::zeros({2}, at::kLong);
  at::manual_seed(99);
  auto [mean, log_std] = CemActionDistribution(model, latents, task_ids, o.loss);
  ASSERT_EQ(mean.sizes(), (std::vector<int64_t>{2, 3, o.model.action_size}));
  ASSERT_EQ(log_std.sizes(), mean.sizes());
  // The same plan, wired by hand, from the same global generator state.
  at::manual_seed(99);
  PlanningModel planning = LearnedPlanningModel(
      model.transition, model.reward, model.value, task_ids.repeat_interleave(3),
      o.model.num_tasks, o.loss.cem.trajectories, ValueScale(o.loss));
  CemPlan plan = PlanWithCem(planning, latents.reshape({6, o.model.latent_size}),
                             o.model.action_size, o.loss.cem, o.loss.gamma);
  EXPECT_TRUE(at::allclose(mean.reshape({6, -1}), plan.mean.select(1, 0)));
  EXPECT_TRUE(at::allclose(log_std.reshape({6, -1}), plan.std.select(1, 0).log()));
  EXPECT_LE(mean.abs().max().item<double>(), 1.0);
}

}  // namespace
}  // namespace ivg::model
