// V-trace targets and the imagined-value policy objective against hand-computed values,
// finite differences and the closed-form value gradient of a linear-quadratic model.
#include "model/core/losses.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/nn/functional/loss.h>

#include "model/core/learner_core.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

TEST(VTraceTargets, MatchHandComputedExample) {
  // gamma 0.9; ratios 0.5, 2, 1 -> rho = c = 0.5, 1, 1.
  // delta0 = 0.5 (1 + 0.9*2 - 1) = 0.9; delta1 = 1 (0.5 + 0.9*3 - 2) = 1.2.
  // v2 = 3; v1 = 2 + 1.2 = 3.2; v0 = 1 + 0.9 + 0.9 * 0.5 * 1.2 = 2.44.
  at::Tensor values = at::tensor({1.0, 2.0, 3.0}, at::kDouble).view({1, 3});
  at::Tensor rewards = at::tensor({1.0, 0.5, 7.0}, at::kDouble).view({1, 3});
  at::Tensor log_ratios = at::log(at::tensor({0.5, 2.0, 1.0}, at::kDouble)).view({1, 3});
  at::Tensor v = VTraceTargets(values, rewards, log_ratios, /*gamma=*/0.9, /*rho_clip=*/1.0,
                               /*c_clip=*/1.0);
  ASSERT_EQ(v.sizes(), values.sizes());
  EXPECT_NEAR(v[0][0].item<double>(), 2.44, 1e-12);
  EXPECT_NEAR(v[0][1].item<double>(), 3.2, 1e-12);
  EXPECT_NEAR(v[0][2].item<double>(), 3.0, 1e-12);
}

TEST(VTraceTargets, OnPolicyReduceToNStepReturns) {
  at::manual_seed(3);
  const int64_t b = 4, t_len = 6;
  const double gamma = 0.95;
  at::Tensor values = at::randn({b, t_len}, at::kDouble);
  at::Tensor rewards = at::randn({b, t_len}, at::kDouble);
  at::Tensor v = VTraceTargets(values, rewards, at::zeros({b, t_len}, at::kDouble), gamma, 1.0,
                               1.0);
  for (int64_t row = 0; row < b; ++row) {
    for (int64_t t = 0; t < t_len; ++t) {
      double ret = 0, discount = 1;
      for (int64_t i = t; i < t_len - 1; ++i) {
        ret += discount * rewards[row][i].item<double>();
        discount *= gamma;
      }
      ret += discount * values[row][t_len - 1].item<double>();
      EXPECT_NEAR(v[row][t].item<double>(), ret, 1e-10) << "row " << row << " t " << t;
    }
  }
}

TEST(ImaginedValueObjective, WeighsPerStepTermsByRemainingHorizonOverN) {
  // x' = x + 1 from x0 = 0, so the reward of step j is 10^j; V = 0, gamma = 1.
  ImaginationModel m;
  m.policy = [](const at::Tensor& x) {
    return std::make_pair(at::zeros({x.size(0), 1}, x.options()),
                          at::zeros({x.size(0), 1}, x.options()));
  };
  m.transition = [](const at::Tensor& x, const at::Tensor& a) { return x + 1.0 + 0.0 * a; };
  m.reward = [](const at::Tensor& x) { return at::pow(10.0, x.squeeze(1) - 1.0); };
  m.value = [](const at::Tensor& x) { return at::zeros({x.size(0)}, x.options()); };
  ImaginationOptions o;
  o.gamma = 1.0;
  o.kl_lambda = 0.0;
  o.horizon = 3;
  at::Tensor x0 = at::zeros({1, 1}, at::kDouble);
  at::Tensor noise = at::zeros({3, 1, 1}, at::kDouble);
  // Weights 3/3, 2/3, 1/3 on the rewards 1, 10, 100.
  EXPECT_NEAR(ImaginedValueObjective(m, x0, noise, o).item<double>(),
              1.0 + 2.0 / 3.0 * 10.0 + 1.0 / 3.0 * 100.0, 1e-10);
  o.single_horizon = true;
  EXPECT_NEAR(ImaginedValueObjective(m, x0, noise, o).item<double>(), 111.0, 1e-10);

  // Bootstrap values: V = 1 everywhere, no rewards, gamma 0.5, N = 2: (0.5 + 0.25) / 2.
  m.reward = [](const at::Tensor& x) { return at::zeros({x.size(0)}, x.options()); };
  m.value = [](const at::Tensor& x) { return at::ones({x.size(0)}, x.options()); };
  o.single_horizon = false;
  o.gamma = 0.5;
  o.horizon = 2;
  EXPECT_NEAR(ImaginedValueObjective(m, x0, noise.slice(0, 0, 2), o).item<double>(), 0.375,
              1e-12);
}

TEST(ImaginedValueObjective, SubtractsLambdaTimesLogRatioToThePrior) {
  // One step, zero model reward and value: the objective is -lambda (log pi(a) - log p(a)).
  ImaginationModel m;
  const double mean = 0.5, log_std = std::log(0.5), eps = 0.8;
  m.policy = [&](const at::Tensor& x) {
    return std::make_pair(at::full({x.size(0), 1}, mean, x.options()),
                          at::full({x.size(0), 1}, log_std, x.options()));
  };
  m.transition = [](const at::Tensor& x, const at::Tensor& a) { return x + 0.0 * a; };
  m.reward = [](const at::Tensor& x) { return at::zeros({x.size(0)}, x.options()); };
  m.value = [](const at::Tensor& x) { return at::zeros({x.size(0)}, x.options()); };
  ImaginationOptions o;
  o.horizon = 1;
  o.kl_lambda = 0.1;
  const double a = mean + eps * 0.5;
  const double log_pi = -0.5 * eps * eps - log_std - 0.5 * std::log(2 * M_PI);
  const double log_p = -0.5 * a * a - 0.5 * std::log(2 * M_PI);
  at::Tensor objective = ImaginedValueObjective(m, at::zeros({1, 1}, at::kDouble),
                                                at::full({1, 1, 1}, eps, at::kDouble), o);
  EXPECT_NEAR(objective.item<double>(), -0.1 * (log_pi - log_p), 1e-12);
}

// Linear transition x' = A x + B a, policy a = K x + sigma eps, reward r(x') = -x'^T Q x',
// value V(x) = -x^T P x. The objective is sum_m -x_m^T M_m x_m with
// M_m = w_{m-1} gamma^{m-1} Q + (1/N) gamma^m P (averaged) and the adjoint recursion
// g_N = -2 M_N x_N, g_m = -2 M_m x_m + (A + B K)^T g_{m+1} gives dJ/dK = sum_m B^T g_m x_{m-1}^T.
void CheckLinearQuadraticGradient(bool single_horizon) {
  at::manual_seed(11);
  const int64_t d = 3, a_dim = 2, s = 5;
  const int n = 4;
  const double gamma = 0.9, sigma = 0.3;
  at::Tensor A = at::eye(d, at::kDouble) + 0.1 * at::randn({d, d}, at::kDouble);
  at::Tensor B = at::randn({d, a_dim}, at::kDouble);
  at::Tensor Lq = at::randn({d, d}, at::kDouble);
  at::Tensor Q = Lq.matmul(Lq.t()) + at::eye(d, at::kDouble);
  at::Tensor Lp = at::randn({d, d}, at::kDouble);
  at::Tensor P = Lp.matmul(Lp.t());
  at::Tensor K = (0.2 * at::randn({a_dim, d}, at::kDouble)).requires_grad_(true);
  at::Tensor x0 = at::randn({s, d}, at::kDouble);
  at::Tensor noise = at::randn({n, s, a_dim}, at::kDouble);

  ImaginationModel m;
  m.policy = [&](const at::Tensor& x) {
    return std::make_pair(x.matmul(K.t()), at::full({x.size(0), a_dim}, std::log(sigma),
                                                    x.options()));
  };
  m.transition = [&](const at::Tensor& x, const at::Tensor& a) {
    return x.matmul(A.t()) + a.matmul(B.t());
  };
  m.reward = [&](const at::Tensor& x) { return -(x.matmul(Q) * x).sum(1); };
  m.value = [&](const at::Tensor& x) { return -(x.matmul(P) * x).sum(1); };
  ImaginationOptions o;
  o.horizon = n;
  o.gamma = gamma;
  o.kl_lambda = 0.0;
  o.single_horizon = single_horizon;
  at::Tensor objective = ImaginedValueObjective(m, x0, noise, o).mean();
  at::Tensor grad = torch::autograd::grad({objective}, {K})[0];

  // Closed form.
  at::NoGradGuard no_grad;
  at::Tensor Kd = K.detach();
  at::Tensor F = A + B.matmul(Kd);
  std::vector<at::Tensor> M(n + 1);
  for (int mm = 1; mm <= n; ++mm) {
    const double w = single_horizon ? 1.0 : static_cast<double>(n - (mm - 1)) / n;
    const double v_weight = single_horizon ? (mm == n ? 1.0 : 0.0) : 1.0 / n;
    M[mm] = w * std::pow(gamma, mm - 1) * Q + v_weight * std::pow(gamma, mm) * P;
  }
  at::Tensor expected = at::zeros({a_dim, d}, at::kDouble);
  for (int64_t row = 0; row < s; ++row) {
    std::vector<at::Tensor> x(n + 1);
    x[0] = x0[row];
    for (int mm = 1; mm <= n; ++mm) {
      x[mm] = F.matmul(x[mm - 1]) + B.matmul(sigma * noise[mm - 1][row]);
    }
    at::Tensor g = -2.0 * M[n].matmul(x[n]);
    for (int mm = n; mm >= 1; --mm) {
      if (mm < n) g = -2.0 * M[mm].matmul(x[mm]) + F.t().matmul(g);
      expected += at::outer(B.t().matmul(g), x[mm - 1]);
    }
  }
  expected /= static_cast<double>(s);
  EXPECT_TRUE(at::allclose(grad, expected, 1e-9, 1e-9))
      << "autograd\n" << grad << "\nclosed form\n" << expected;
}

TEST(ImaginedValueObjective, LinearQuadraticGradientMatchesClosedFormAveraged) {
  CheckLinearQuadraticGradient(/*single_horizon=*/false);
}

TEST(ImaginedValueObjective, LinearQuadraticGradientMatchesClosedFormSingleHorizon) {
  CheckLinearQuadraticGradient(/*single_horizon=*/true);
}

// A scalar linear-Gaussian model: x' = A x + B a, a ~ N(w x, sigma^2), r(x') = -q x'^2,
// V(x) = -p x^2, with the KL reward. Its imagined objective has a closed form in the
// moments m_j = E x_j, v_j = Var x_j, so autograd of that closed form is the exact gradient
// d J / d (w, log sigma) that both estimators must match on average.
struct ScalarLinearGaussian {
  double A = 0.9, B = 0.5, q = 1.0, p = 0.5;
  at::Tensor w = at::tensor(-0.3, at::kDouble).requires_grad_(true);
  at::Tensor log_sigma = at::tensor(std::log(0.4), at::kDouble).requires_grad_(true);
  ImaginationOptions options;

  ScalarLinearGaussian() {
    options.horizon = 3;
    options.gamma = 0.9;
    options.kl_lambda = 0.1;
  }

  ImaginationModel Model() const {
    ImaginationModel m;
    m.policy = [this](const at::Tensor& x) {
      return std::make_pair(x * w, log_sigma.expand_as(x));
    };
    m.transition = [this](const at::Tensor& x, const at::Tensor& a) { return A * x + B * a; };
    m.reward = [this](const at::Tensor& x) { return -q * x.pow(2).squeeze(1); };
    m.value = [this](const at::Tensor& x) { return -p * x.pow(2).squeeze(1); };
    return m;
  }

  // The exact objective averaged over the start states x0 [S, 1].
  at::Tensor ClosedFormObjective(const at::Tensor& x0) const {
    const int n = options.horizon;
    at::Tensor sigma2 = at::exp(2.0 * log_sigma);
    at::Tensor f = A + B * w;
    at::Tensor m = x0.squeeze(1), v = at::zeros_like(m);
    at::Tensor discounted_rewards = at::zeros_like(m), total = at::zeros_like(m);
    for (int j = 0; j < n; ++j) {
      // E[log pi(a|x) - log N(a; 0, 1)] = -log sigma - 1/2 + (sigma^2 + w^2 E x^2) / 2.
      at::Tensor kl = -log_sigma - 0.5 + 0.5 * (sigma2 + w * w * (m * m + v));
      m = f * m;
      v = f * f * v + B * B * sigma2;
      at::Tensor reward = -q * (m * m + v) - options.kl_lambda * kl;
      discounted_rewards = discounted_rewards + std::pow(options.gamma, j) * reward;
      const int k = j + 1;
      if (!options.single_horizon || k == n) {
        total = total + discounted_rewards + std::pow(options.gamma, k) * (-p * (m * m + v));
      }
    }
    return (options.single_horizon ? total : total / n).mean();
  }
};

// Mean and standard error over `groups` independent estimates of dJ/d(w, log sigma), each
// from `rows` rollouts of every start state.
template <typename Objective>
std::pair<at::Tensor, at::Tensor> GradientMeanAndStandardError(
    const ScalarLinearGaussian& lg, const at::Tensor& x0, int groups, int64_t rows,
    Objective objective) {
  std::vector<at::Tensor> estimates;
  at::Tensor starts = x0.repeat_interleave(rows, 0);
  for (int g = 0; g < groups; ++g) {
    at::Tensor noise = at::randn({lg.options.horizon, starts.size(0), 1}, at::kDouble);
    at::Tensor j = objective(lg.Model(), starts, noise, lg.options).mean();
    auto grads = torch::autograd::grad({j}, {lg.w, lg.log_sigma});
    estimates.push_back(at::stack({grads[0], grads[1]}));
  }
  at::Tensor all = at::stack(estimates);  // [groups, 2]
  return {all.mean(0), all.std(0) / std::sqrt(static_cast<double>(groups))};
}

void CheckLikelihoodRatioGradientIsUnbiased(bool single_horizon) {
  at::manual_seed(21);
  ScalarLinearGaussian lg;
  lg.options.single_horizon = single_horizon;
  at::Tensor x0 = at::tensor({0.5, -1.0, 1.5}, at::kDouble).view({3, 1});
  auto exact_grads = torch::autograd::grad({lg.ClosedFormObjective(x0)}, {lg.w, lg.log_sigma});
  at::Tensor exact = at::stack({exact_grads[0], exact_grads[1]});
  auto [pg, pg_se] =
      GradientMeanAndStandardError(lg, x0, /*groups=*/40, /*rows=*/2000, LikelihoodRatioObjective);
  auto [pathwise, pathwise_se] =
      GradientMeanAndStandardError(lg, x0, /*groups=*/40, /*rows=*/2000, ImaginedValueObjective);
  for (int i = 0; i < 2; ++i) {
    const char* name = i == 0 ? "d/dw" : "d/dlog_sigma";
    const double e = exact[i].item<double>();
    // Power: the estimate is precise enough that a sign error or a biased baseline fails.
    EXPECT_LT(pg_se[i].item<double>(), 0.1 * std::abs(e)) << name;
    EXPECT_NEAR(pg[i].item<double>(), e, 4.0 * pg_se[i].item<double>())
        << name << ": likelihood ratio " << pg[i].item<double>() << " +- "
        << pg_se[i].item<double>() << ", exact " << e;
    // The closed form itself, against the pathwise estimator (low variance).
    EXPECT_NEAR(pathwise[i].item<double>(), e, 4.0 * pathwise_se[i].item<double>() + 1e-9)
        << name << ": pathwise " << pathwise[i].item<double>() << ", exact " << e;
  }
}

TEST(LikelihoodRatioObjective, MeanGradientMatchesTheExactValueGradientAveraged) {
  CheckLikelihoodRatioGradientIsUnbiased(/*single_horizon=*/false);
}

TEST(LikelihoodRatioObjective, MeanGradientMatchesTheExactValueGradientSingleHorizon) {
  CheckLikelihoodRatioGradientIsUnbiased(/*single_horizon=*/true);
}

TEST(LikelihoodRatioObjective, HasTheImaginedObjectivesValueAndNoModelGradient) {
  at::manual_seed(4);
  ScalarLinearGaussian lg;
  at::Tensor x0 = at::randn({6, 1}, at::kDouble).requires_grad_(true);
  at::Tensor noise = at::randn({lg.options.horizon, 6, 1}, at::kDouble);
  at::Tensor lr = LikelihoodRatioObjective(lg.Model(), x0, noise, lg.options);
  at::Tensor pathwise = ImaginedValueObjective(lg.Model(), x0, noise, lg.options);
  EXPECT_TRUE(at::allclose(lr, pathwise, 1e-12, 1e-12)) << lr << "\n" << pathwise;
  // The estimator differentiates log-densities only: nothing reaches the start states.
  auto grads = torch::autograd::grad({lr.sum()}, {x0}, {}, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  EXPECT_TRUE(!grads[0].defined() || at::equal(grads[0], at::zeros_like(grads[0])));
}

TEST(QCriticTargets, MatchHandComputedExample) {
  // gamma 0.9: Q targets r_t + 0.9 v_{t+1}: 1 + 0.9 * 3.2 = 3.88, 0.5 + 0.9 * 3 = 3.2.
  at::Tensor v = at::tensor({2.44, 3.2, 3.0}, at::kDouble).view({1, 3});
  at::Tensor r = at::tensor({1.0, 0.5, 7.0}, at::kDouble).view({1, 3});
  at::Tensor q = QCriticTargets(v, r, /*gamma=*/0.9);
  ASSERT_EQ(q.sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_NEAR(q[0][0].item<double>(), 3.88, 1e-12);
  EXPECT_NEAR(q[0][1].item<double>(), 3.2, 1e-12);
}

TEST(PolicyLoss, GradientMatchesFiniteDifferences) {
  CoreOptions o = testing::TinyOptions();
  o.double_precision = true;
  o.loss.imagination_horizon = 3;
  auto core = LearnerCore::Create(o);
  ASSERT_TRUE(core.ok()) << core.error();
  IvgModelImpl& model = *core.value()->model();
  at::manual_seed(5);
  const int64_t b = 2, l = o.loss.sequence_length();
  at::Tensor latents = at::randn({b, l, o.model.latent_size}, at::kDouble);
  at::Tensor task_ids = at::zeros({b}, at::kLong);
  at::Tensor noise = at::randn({3, b * l, o.model.action_size}, at::kDouble);
  auto params = model.PolicyParameters();
  at::Tensor loss = ComputePolicyLoss(model, latents, task_ids, noise, o.loss);
  auto grads = torch::autograd::grad({loss}, params);
  const double h = 1e-6;
  int checked = 0;
  at::NoGradGuard no_grad;
  for (size_t p = 0; p < params.size(); ++p) {
    at::Tensor flat = params[p].view({-1});
    for (int64_t i = 0; i < flat.numel(); i += std::max<int64_t>(1, flat.numel() / 4)) {
      const double original = flat[i].item<double>();
      flat[i].fill_(original + h);
      const double plus = ComputePolicyLoss(model, latents, task_ids, noise, o.loss).item<double>();
      flat[i].fill_(original - h);
      const double minus = ComputePolicyLoss(model, latents, task_ids, noise, o.loss).item<double>();
      flat[i].fill_(original);
      const double numeric = (plus - minus) / (2 * h);
      const double analytic = grads[p].view({-1})[i].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::abs(numeric))
          << "policy parameter " << p << " element " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(PolicyLoss, ImaginationHorizonChangesTheObjective) {
  // Guards against a horizon that is silently ignored.
  CoreOptions o = testing::TinyOptions();
  o.double_precision = true;
  auto core = LearnerCore::Create(o);
  ASSERT_TRUE(core.ok()) << core.error();
  IvgModelImpl& model = *core.value()->model();
  at::manual_seed(8);
  at::Tensor latents = at::randn({2, o.loss.sequence_length(), o.model.latent_size}, at::kDouble);
  at::Tensor ids = at::zeros({2}, at::kLong);
  at::Tensor noise = at::randn({3, 2 * o.loss.sequence_length(), 2}, at::kDouble);
  LossOptions one = o.loss, three = o.loss;
  one.imagination_horizon = 1;
  three.imagination_horizon = 3;
  const double l1 = ComputePolicyLoss(model, latents, ids, noise.slice(0, 0, 1), one).item<double>();
  const double l3 = ComputePolicyLoss(model, latents, ids, noise, three).item<double>();
  EXPECT_NE(l1, l3);
}

// The model loss's V-trace targets come from the *target* encoder and value (psi), with the
// KL-regularised reward and the online policy's importance ratios, and rho_clip != c_clip is
// honoured. Checked once the online networks have moved away from the target copy (on a
// fresh core they are equal, so a V-trace using the online value would pass unnoticed),
// against a separate step-by-step computation.
TEST(ReconstructionLoss, FusedBceEqualsTorchsBceWithLogitsInValueAndGradient) {
  // Logits from the everyday range to where softplus switches to its linear branch (> 20)
  // and far below it; targets anywhere in [0, 1] (pixels / 255).
  at::Tensor logits = at::cat({at::randn({2, 3, 6, 8, 8}, at::kDouble) * 4,
                               at::full({1, 3, 6, 8, 8}, 35.0, at::kDouble),
                               at::full({1, 3, 6, 8, 8}, -60.0, at::kDouble)})
                          .set_requires_grad(true);
  at::Tensor targets = at::rand({4, 3, 6, 8, 8}, at::kDouble);
  at::Tensor fused = BinaryCrossEntropyWithLogitsMean(logits, targets);
  at::Tensor reference = torch::nn::functional::binary_cross_entropy_with_logits(logits, targets);
  EXPECT_NEAR(fused.item<double>(), reference.item<double>(), 1e-8);
  at::Tensor fused_grad = torch::autograd::grad({fused * 3.0}, {logits})[0];
  at::Tensor reference_grad = torch::autograd::grad({reference * 3.0}, {logits})[0];
  EXPECT_TRUE(at::allclose(fused_grad, reference_grad, 1e-12, 1e-12));
}

TEST(ModelLoss, VTraceTargetsUseTheTargetNetworksAfterTheOnlineOnesMoved) {
  CoreOptions o = testing::TinyOptions();
  o.loss.vtrace_rho_clip = 0.7;
  o.loss.vtrace_c_clip = 1.3;
  o.loss.kl_regularization = true;
  o.loss.kl_lambda = 0.1;
  o.optimizer.target_update_period = 1000;  // The target stays at its initial copy.
  o.optimizer.model_learning_rate = 1e-2;
  auto core = testing::MakeCore(o);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(core->Step(testing::MakeBatch(o, 2, 10 + i)).ok());
  IvgModelImpl& m = *core->model();
  ASSERT_FALSE(at::allclose(m.encoder->parameters()[0], m.target_encoder->parameters()[0]))
      << "the online encoder did not move";

  Batch batch = testing::MakeBatch(o, 2, 99);
  batch.behaviour_log_probs = at::randn({2, o.loss.sequence_length()}) - 2.0;
  torch::NoGradGuard no_grad;
  ModelLossTerms terms = ComputeModelLoss(m, batch, o.loss);

  const int64_t b = 2, seq = o.loss.sequence_length(), h = o.loss.burn_in;
  // The targets cover the steps an actor's latent exists for: H-1 .. L-1.
  const int64_t l = o.loss.start_states_per_sequence();
  ASSERT_EQ(terms.vtrace_targets.size(1), l);
  const double scale = o.loss.scale_value_by_one_minus_gamma ? 1.0 - o.loss.gamma : 1.0;
  at::Tensor images = batch.images.to(at::kFloat) / 255.0;
  at::Tensor onehot = at::ones({b, l, 1});
  at::Tensor u = m.TargetValue(m.target_encoder->forward(images, batch.proprio)
                                   .slice(1, h - 1, seq), onehot) / scale;
  // pi at each step's actor latent: the encoder over the H frames ending there, alone.
  std::vector<at::Tensor> windows;
  for (int64_t t = h - 1; t < seq; ++t) {
    windows.push_back(m.encoder->forward(images.slice(1, t - h + 1, t + 1),
                                         batch.proprio.slice(1, t - h + 1, t + 1))
                          .select(1, h - 1));
  }
  at::Tensor e = at::stack(windows, 1);
  auto [mean, log_std] = m.policy->forward(e, onehot);
  const at::Tensor actions = batch.actions.slice(1, h - 1, seq);
  at::Tensor log_pi = GaussianLogProb(actions, mean, log_std);
  at::Tensor r = batch.rewards.select(2, 0).slice(1, h - 1, seq) -
                 o.loss.kl_lambda * (log_pi - StandardNormalLogProb(actions));
  at::Tensor ratio = at::exp(log_pi - batch.behaviour_log_probs.slice(1, h - 1, seq));
  for (int64_t row = 0; row < b; ++row) {
    // v_t = u_t + delta_t + gamma c_t (v_{t+1} - u_{t+1}), from the end backwards.
    std::vector<double> v(l);
    v[l - 1] = u[row][l - 1].item<double>();
    for (int64_t t = l - 2; t >= 0; --t) {
      const double rho = std::min(o.loss.vtrace_rho_clip, ratio[row][t].item<double>());
      const double c = std::min(o.loss.vtrace_c_clip, ratio[row][t].item<double>());
      const double delta = rho * (r[row][t].item<double>() +
                                  o.loss.gamma * u[row][t + 1].item<double>() -
                                  u[row][t].item<double>());
      v[t] = u[row][t].item<double>() + delta +
             o.loss.gamma * c * (v[t + 1] - u[row][t + 1].item<double>());
    }
    for (int64_t t = 0; t < l; ++t) {
      EXPECT_NEAR(terms.vtrace_targets[row][t].item<double>(), v[t], 1e-4)
          << "row " << row << " t " << t;
    }
  }
  // And they are not what the online value would give.
  at::Tensor online_u = m.Value(e, onehot) / scale;
  EXPECT_FALSE(at::allclose(online_u, u, 1e-3, 1e-4));
}


// With clip_model_actions the model sees what the environment executes: replayed actions
// beyond the bounds train the transition like the clipped ones, and the imagined objective
// gives the policy no gradient towards means beyond the bounds (the collapse measured in
// bench/README.md, "Learning").
TEST(ClipModelActions, TheModelLossSeesExecutedActionsAndImaginationStopsPushingBeyondBounds) {
  CoreOptions o = testing::TinyOptions();
  o.loss.clip_model_actions = true;
  o.loss.kl_regularization = false;
  o.model.zero_init_heads = false;  // Random heads: the unclipped objective has a gradient.
  auto core = testing::MakeCore(o);
  IvgModelImpl& m = *core->model();
  Batch batch = testing::MakeBatch(o, 2, 21);
  Batch clipped = batch;
  batch.actions = batch.actions * 5.0;
  clipped.actions = batch.actions.clamp(-1.0, 1.0);
  {
    torch::NoGradGuard no_grad;
    ModelLossTerms raw = ComputeModelLoss(m, batch, o.loss);
    ModelLossTerms executed = ComputeModelLoss(m, clipped, o.loss);
    EXPECT_TRUE(at::allclose(raw.consistency, executed.consistency));
    EXPECT_TRUE(at::allclose(raw.reward, executed.reward));
  }

  // Every imagined action far beyond the bounds: the policy's output bias (fc3: means, then
  // log-stds) at +10 puts each mean near 10 (its weights start tiny).
  {
    torch::NoGradGuard no_grad;
    m.policy->named_parameters()["fc3.bias"].fill_(10.0);
  }
  ModelLossTerms terms = ComputeModelLoss(m, batch, o.loss);
  at::Tensor noise = at::zeros({o.loss.imagination_horizon, 2 * o.loss.sequence_length(),
                                o.model.action_size});
  at::Tensor loss = ComputePolicyLoss(m, terms.latents, batch.task_ids, noise, o.loss);
  auto squared_policy_gradient = [&m](const at::Tensor& policy_loss) {
    auto grads = torch::autograd::grad({policy_loss}, m.PolicyParameters(), {}, false, false,
                                       /*allow_unused=*/true);
    double sum = 0;
    for (const auto& g : grads) {
      if (g.defined()) sum += g.pow(2).sum().item<double>();
    }
    return sum;
  };
  EXPECT_EQ(squared_policy_gradient(loss), 0.0)
      << "the objective still pulls the mean beyond the bounds";
  o.loss.clip_model_actions = false;
  EXPECT_GT(squared_policy_gradient(
                ComputePolicyLoss(m, terms.latents, batch.task_ids, noise, o.loss)),
            0.0)
      << "without clipping the raw actions reach the model";
}

// With reward_loss_on_encodings the reward term is the mean of eq. 5's open-loop term and
// the same regression on the encodings, r_hat(e_{t+1}) against r_t for every step; only the
// reward term changes, and the encoder then gets a reward gradient that does not pass
// through the transition.
TEST(RewardLossOnEncodings, IsTheMeanOfTheOpenLoopAndTheEncodedTerms) {
  CoreOptions o = testing::TinyOptions();
  o.model.zero_init_heads = false;  // A random reward head: both terms are nonzero.
  auto core = testing::MakeCore(o);
  IvgModelImpl& m = *core->model();
  Batch batch = testing::MakeBatch(o, 2, 31);
  LossOptions on = o.loss;
  on.reward_loss_on_encodings = true;
  ModelLossTerms paper = ComputeModelLoss(m, batch, o.loss);
  ModelLossTerms both = ComputeModelLoss(m, batch, on);

  const int64_t l = o.loss.sequence_length();
  at::Tensor encoded_term =
      (m.reward->forward(paper.latents.slice(1, 1, l)) -
       batch.rewards.slice(1, 0, l - 1).to(paper.latents.options()))
          .pow(2)
          .mean();
  EXPECT_NEAR(both.reward.item<double>(),
              0.5 * (paper.reward.item<double>() + encoded_term.item<double>()), 1e-6);
  EXPECT_GT(std::abs(both.reward.item<double>() - paper.reward.item<double>()), 1e-6);
  EXPECT_TRUE(at::allclose(both.consistency, paper.consistency));
  EXPECT_TRUE(at::allclose(both.value, paper.value));
  EXPECT_TRUE(at::allclose(both.reconstruction_image, paper.reconstruction_image));

  // The encoded term trains the encoder and the head without passing through the
  // transition; the open-loop term reaches the encoder only through it.
  auto squared_gradient = [](const at::Tensor& loss, const std::vector<at::Tensor>& params) {
    auto grads = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true, false,
                                       /*allow_unused=*/true);
    double sum = 0;
    for (const auto& g : grads) {
      if (g.defined()) sum += g.pow(2).sum().item<double>();
    }
    return sum;
  };
  EXPECT_GT(squared_gradient(encoded_term, m.encoder->parameters()), 0.0);
  EXPECT_EQ(squared_gradient(encoded_term, m.transition->parameters()), 0.0);
  EXPECT_GT(squared_gradient(paper.reward, m.transition->parameters()), 0.0);
}

// A tanh-squashed policy's samples u reach the transition as tanh(u), what the environment
// executes, in the model loss and in imagination; the densities stay on u.
TEST(TanhSquashedPolicy, TheModelSeesTanhOfTheSamplesInTheModelLossAndInImagination) {
  CoreOptions o = testing::TinyOptions();
  o.model.zero_init_heads = false;  // Random heads: the objective depends on the actions.
  o.loss.clip_model_actions = true;
  CoreOptions squashed = o;
  squashed.model.tanh_squashed_policy = true;
  // Two models with the same parameters, one squashed.
  auto plain_core = testing::MakeCore(o);
  auto squashed_core = testing::MakeCore(squashed);
  IvgModelImpl& plain = *plain_core->model();
  IvgModelImpl& tanh_model = *squashed_core->model();
  torch::NoGradGuard no_grad;
  for (auto& p : tanh_model.named_parameters()) p.value().copy_(plain.named_parameters()[p.key()]);

  Batch batch = testing::MakeBatch(o, 2, 23);
  batch.actions = batch.actions * 3.0;
  Batch executed = batch;
  executed.actions = at::tanh(batch.actions);
  ModelLossTerms squashed_terms = ComputeModelLoss(tanh_model, batch, squashed.loss);
  ModelLossTerms plain_terms = ComputeModelLoss(plain, executed, o.loss);
  EXPECT_TRUE(at::allclose(squashed_terms.consistency, plain_terms.consistency));
  EXPECT_TRUE(at::allclose(squashed_terms.reward, plain_terms.reward));
  EXPECT_TRUE(at::allclose(squashed_terms.reconstruction_image,
                           plain_terms.reconstruction_image));

  // Imagination: with every mean near +10 the squashed actions are +1 to within 1e-8, what
  // the clip executes; with means near 0.5, tanh and the clip differ.
  at::Tensor noise = at::zeros({o.loss.imagination_horizon, 2 * o.loss.sequence_length(),
                                o.model.action_size});
  auto objective_with_means_at = [&](double mean, IvgModelImpl& model) {
    const int64_t actions = o.model.action_size;
    model.policy->named_parameters()["fc3.bias"].copy_(
        at::cat({at::full({actions}, mean), at::full({actions}, -1.0)}));
    return ComputePolicyLoss(model, squashed_terms.latents, batch.task_ids, noise, o.loss)
        .item<double>();
  };
  EXPECT_NEAR(objective_with_means_at(10.0, tanh_model), objective_with_means_at(10.0, plain),
              1e-6);
  EXPECT_GT(std::abs(objective_with_means_at(0.5, tanh_model) -
                     objective_with_means_at(0.5, plain)),
            1e-6);
}

}  // namespace
}  // namespace ivg::model

namespace ivg::model {
namespace {

// With learner.scale_value_by_one_minus_gamma the value head predicts (1 - gamma) V; the
// objective divides it back, so a head scaled by (1 - gamma) gives the same objective in
// reward units as the unscaled head with scaling off.
TEST(PolicyLoss, ObjectiveInRewardUnitsIsTheSameWithValueScalingOnAndOff) {
  CoreOptions o = testing::TinyOptions();
  o.loss.gamma = 0.9;
  o.model.zero_init_heads = false;  // A value head that is not 0 everywhere.
  auto core = testing::MakeCore(o);
  IvgModelImpl& m = *core->model();
  Batch batch = testing::MakeBatch(o, 2, 31);
  at::Tensor noise = core->DrawPolicyNoise(2);
  torch::NoGradGuard no_grad;
  at::Tensor latents = ComputeModelLoss(m, batch, o.loss).start_latents;

  o.loss.scale_value_by_one_minus_gamma = false;
  const double unscaled = ComputePolicyLoss(m, latents, batch.task_ids, noise, o.loss)
                              .item<double>();
  // The value head's last layer times (1 - gamma): it now predicts (1 - gamma) V.
  for (auto& p : m.value->named_parameters()) {
    if (p.key().rfind("fc3.", 0) == 0) p.value().mul_(1.0 - o.loss.gamma);
  }
  o.loss.scale_value_by_one_minus_gamma = true;
  const double scaled = ComputePolicyLoss(m, latents, batch.task_ids, noise, o.loss)
                            .item<double>();
  EXPECT_NEAR(scaled, unscaled, 1e-5 * std::max(1.0, std::abs(unscaled)));
  // And the scaling matters: the same scaled head without dividing back differs.
  o.loss.scale_value_by_one_minus_gamma = false;
  EXPECT_GT(std::abs(ComputePolicyLoss(m, latents, batch.task_ids, noise, o.loss)
                         .item<double>() - unscaled),
            1e-4);
}

}  // namespace
}  // namespace ivg::model
