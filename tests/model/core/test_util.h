// Tiny network sizes and synthetic batches for the learner core tests.
#ifndef IVG_TESTS_SERVICES_LEARNER_CORE_TEST_UTIL_H_
#define IVG_TESTS_SERVICES_LEARNER_CORE_TEST_UTIL_H_

#include <memory>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "model/core/batch.h"
#include "model/core/learner_core.h"
#include "model/core/losses.h"
#include "model/core/options.h"

namespace ivg::model::testing {

// A learner core for `o`; a creation error fails the calling test and returns null.
inline std::unique_ptr<LearnerCore> MakeCore(const CoreOptions& o) {
  auto core = LearnerCore::Create(o);
  EXPECT_TRUE(core.ok()) << core.error();
  return core.ok() ? core.consume() : nullptr;
}

inline CoreOptions TinyOptions() {
  CoreOptions o;
  o.model.latent_size = 8;
  o.model.encoder_channels = 4;
  o.model.encoder_hidden = 16;
  o.model.transition_hidden = 16;
  o.model.decoder_channels = 8;
  o.model.decoder_hidden = 16;
  o.model.head_hidden = 16;
  o.model.proprio_size = 3;
  o.model.action_size = 2;
  o.loss.burn_in = 2;
  o.loss.model_rollout = 3;
  o.loss.imagination_horizon = 3;
  o.optimizer.model_learning_rate = 1e-3;
  o.optimizer.policy_learning_rate = 1e-3;
  o.use_cuda_if_available = false;
  return o;
}

// A batch with learnable structure: each sequence shows a binary pattern whose bright region
// moves with a per-sequence phase; proprio, rewards and actions are smooth functions of it.
inline Batch MakeBatch(const CoreOptions& o, int64_t batch_size, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t l = o.loss.sequence_length();
  const int64_t s = o.model.image_size;
  Batch b;
  at::Tensor phase = at::rand({batch_size, 1}, gen) * 4.0;
  at::Tensor t = at::arange(l, at::kFloat).view({1, l});
  at::Tensor pos = (phase + t);  // [B, L]
  at::Tensor cols = at::arange(s, at::kFloat).view({1, 1, 1, 1, s});
  at::Tensor centre = (pos * 6.0).view({batch_size, l, 1, 1, 1});
  at::Tensor mask = (at::abs(cols - centre) < 10.0).to(at::kFloat);
  b.images = (mask.expand({batch_size, l, o.model.image_channels, s, s}) * 255.0).to(at::kByte);
  at::Tensor p = at::arange(o.model.proprio_size, at::kFloat).view({1, 1, -1});
  b.proprio = at::sin(pos.unsqueeze(2) * 0.5 + p);
  b.actions = at::randn({batch_size, l, o.model.action_size}, gen);
  b.rewards = at::cos(pos.unsqueeze(2) * 0.3).expand({batch_size, l, o.model.num_tasks}).clone();
  b.behaviour_log_probs = at::full({batch_size, l}, -2.0);
  b.task_ids = at::zeros({batch_size}, at::kLong);
  return b;
}

// For tests of the terms added to the policy loss: a tiny core for `options` with clipped
// model actions and random (not zero) heads, so that the imagined objective has a gradient,
// whose policy outputs `mean_bias` and `log_std_bias` everywhere at the start (fc3's bias; its
// weights start tiny); a batch's encoder latents as the start states, and zero policy noise.
struct PolicyLossCase {
  CoreOptions options;
  std::unique_ptr<LearnerCore> core;
  Batch batch;
  at::Tensor latents;
  at::Tensor noise;
};

inline PolicyLossCase MakePolicyLossCase(CoreOptions options, double mean_bias,
                                         double log_std_bias, uint64_t batch_seed) {
  PolicyLossCase c;
  c.options = std::move(options);
  c.options.loss.clip_model_actions = true;
  c.options.model.zero_init_heads = false;
  c.core = MakeCore(c.options);
  c.batch = MakeBatch(c.options, 2, batch_seed);
  IvgModelImpl& m = *c.core->model();
  {
    torch::NoGradGuard no_grad;
    // fc3's bias holds the means, then the log-stds.
    const int64_t actions = c.options.model.action_size;
    m.policy->named_parameters()["fc3.bias"].slice(0, 0, actions).fill_(mean_bias);
    m.policy->named_parameters()["fc3.bias"].slice(0, actions).fill_(log_std_bias);
    c.latents = ComputeModelLoss(m, c.batch, c.options.loss).latents;
  }
  c.noise = at::zeros({c.options.loss.imagination_horizon,
                       c.batch.task_ids.size(0) * c.options.loss.sequence_length(),
                       c.options.model.action_size});
  return c;
}

// The policy's mean and log-std at every start latent of `c`: [B * L, A] each.
inline std::pair<at::Tensor, at::Tensor> StartPolicy(PolicyLossCase& c) {
  torch::NoGradGuard no_grad;
  IvgModelImpl& m = *c.core->model();
  at::Tensor x0 = c.latents.reshape({-1, c.latents.size(2)});
  at::Tensor ids = c.batch.task_ids.repeat_interleave(c.latents.size(1));
  return m.policy->forward(x0, TaskOneHot(ids, m.options().num_tasks, x0));
}

}  // namespace ivg::model::testing

#endif  // IVG_TESTS_SERVICES_LEARNER_CORE_TEST_UTIL_H_
