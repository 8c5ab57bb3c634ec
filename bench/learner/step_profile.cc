#include "bench/learner/step_profile.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "model/core/losses.h"

namespace ivg::bench {
namespace {

using model::IvgModelImpl;
using model::LossOptions;

void Sync(const at::Tensor& like) {
  if (like.is_cuda()) (void)like.sum().cpu();
}

double MedianMs(const std::function<void()>& part, const at::Tensor& like, int repeats) {
  part();  // Warm-up: allocator pools and oneDNN primitives are created once.
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    Sync(like);
    const auto start = std::chrono::steady_clock::now();
    part();
    Sync(like);
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Gradients of `output` for `params` (nothing accumulates into .grad, so parts stay apart).
void Backward(const at::Tensor& output, const std::vector<at::Tensor>& params) {
  (void)torch::autograd::grad({output}, params, {}, /*retain_graph=*/false,
                              /*create_graph=*/false, /*allow_unused=*/true);
}

}  // namespace

std::vector<PartTime> ProfileStepParts(model::LearnerCore& core, const model::Batch& batch,
                                       int repeats) {
  IvgModelImpl& m = *core.model();
  const LossOptions& o = core.options().loss;
  const at::Tensor like = m.transition->parameters().front();
  const int64_t b = batch.images.size(0), l = batch.images.size(1);
  const int h = o.burn_in;
  const double scale = model::ValueScale(o);

  // Inputs each part starts from, computed once outside the timings.
  at::Tensor images = batch.images.to(like.options()) / 255.0;
  at::Tensor proprio = batch.proprio.to(like.options());
  at::Tensor actions = batch.actions.to(like.options());
  at::Tensor task_ids = batch.task_ids.to(like.device());
  at::Tensor onehot_seq = model::TaskOneHot(task_ids, m.options().num_tasks, like)
                              .unsqueeze(1)
                              .expand({b, l, m.options().num_tasks});
  at::Tensor features, latents, start_latents, predicted;
  {
    torch::NoGradGuard no_grad;
    features = m.encoder->EncodeFrames(images, proprio);
    latents = m.encoder->Integrate(features);
    start_latents = m.encoder->IntegrateWindows(features, h);
    predicted = model::OpenLoopRollout(*m.transition, latents, actions, h);
  }
  const at::Tensor start_onehot = onehot_seq.slice(1, h - 1, l);
  const at::Tensor start_actions = actions.slice(1, h - 1, l);
  at::Tensor noise = core.DrawPolicyNoise(b);

  std::vector<PartTime> parts;
  auto add = [&](const std::string& name, const std::function<void()>& part) {
    parts.push_back({name, MedianMs(part, like, repeats)});
  };
  add("batch to float (images / 255)", [&] {
    (void)(batch.images.to(like.options()) / 255.0);
  });
  add("online encoder, forward + backward", [&] {
    Backward(m.encoder->forward(images, proprio).sum(), m.encoder->parameters());
  });
  add("target encoder + target value (no grad)", [&] {
    torch::NoGradGuard no_grad;
    (void)m.TargetValue(m.target_encoder->forward(images, proprio), onehot_seq);
  });
  add("actors' latents: LSTM over each H-frame window (no grad)", [&] {
    torch::NoGradGuard no_grad;
    (void)m.encoder->IntegrateWindows(features, h);
  });
  add("transition rollout K steps, forward + backward", [&] {
    Backward(model::OpenLoopRollout(*m.transition, latents, actions, h).sum(),
             m.transition->parameters());
  });
  // As many predicted steps per sequence as the step decodes (which ones costs the same).
  const int64_t decoded = o.reconstructs_subset() ? h + o.reconstructed_steps_per_sequence : l;
  add("decoder + BCE + proprio loss, forward + backward", [&] {
    auto [logits, proprio_pred] = m.decoder->forward(predicted.slice(1, 0, decoded - h));
    at::Tensor loss =
        model::BinaryCrossEntropyWithLogitsMean(logits, images.slice(1, h, decoded)) +
        (proprio_pred - proprio.slice(1, h, decoded)).pow(2).mean();
    Backward(loss, m.decoder->parameters());
  });
  add("reward + value heads, forward + backward", [&] {
    std::vector<at::Tensor> params = m.reward->parameters();
    for (const auto& p : m.value->parameters()) params.push_back(p);
    at::Tensor loss = m.reward->forward(predicted).pow(2).mean() +
                      m.Value(predicted, onehot_seq.slice(1, h, l)).pow(2).mean();
    Backward(loss, params);
  });
  add("policy log-probs + V-trace targets (no grad)", [&] {
    torch::NoGradGuard no_grad;
    auto [mean, log_std] = m.policy->forward(start_latents, start_onehot);
    at::Tensor log_pi = model::GaussianLogProb(start_actions, mean, log_std);
    at::Tensor values = start_latents.select(2, 0);
    (void)model::VTraceTargets(
        values, batch.rewards.select(2, 0).slice(1, h - 1, l).to(like.options()),
        log_pi - batch.behaviour_log_probs.slice(1, h - 1, l).to(like.options()), o.gamma,
        o.vtrace_rho_clip, o.vtrace_c_clip);
  });
  add("policy imagination N steps, forward + backward", [&] {
    Backward(model::ComputePolicyLoss(m, start_latents, batch.task_ids, noise, o,
                                      batch.actions.slice(1, h - 1, l)),
             m.PolicyParameters());
  });
  {
    // Adam on copies, so the profile does not move the core's parameters.
    std::vector<at::Tensor> trained = m.ModelParameters();
    for (const auto& p : m.PolicyParameters()) trained.push_back(p);
    std::vector<at::Tensor> copies;
    for (const auto& p : trained) {
      at::Tensor c = p.detach().clone().set_requires_grad(true);
      c.mutable_grad() = at::randn_like(c) * 1e-3;
      copies.push_back(c);
    }
    torch::optim::Adam adam(copies, torch::optim::AdamOptions(1e-4));
    add("Adam, model + policy parameters", [&] { adam.step(); });
  }
  double sum = 0;
  for (const auto& p : parts) sum += p.median_ms;
  const double step = MedianMs([&] { (void)core.Step(batch); }, like, repeats);
  parts.push_back({"rest (flatten, checks, diagnostics, host reads)", std::max(0.0, step - sum)});
  parts.push_back({"whole step (LearnerCore::Step)", step});
  return parts;
}

}  // namespace ivg::bench
