#include "model/core/losses.h"

#include <cmath>
#include <stdexcept>
#include <tuple>

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include "model/core/cem.h"

namespace ivg::model {

at::Tensor TaskOneHot(const at::Tensor& task_ids, int num_tasks, const at::Tensor& like) {
  return at::one_hot(task_ids, num_tasks).to(like.options());
}

at::Tensor VTraceTargets(const at::Tensor& values, const at::Tensor& rewards,
                         const at::Tensor& log_ratios, double gamma, double rho_clip,
                         double c_clip) {
  torch::NoGradGuard no_grad;
  const int64_t t_len = values.size(1);
  at::Tensor ratios = at::exp(log_ratios);
  at::Tensor rho = at::clamp_max(ratios, rho_clip);
  at::Tensor c = at::clamp_max(ratios, c_clip);
  std::vector<at::Tensor> targets(t_len);
  // v_t - u_t = delta_t + gamma c_t (v_{t+1} - u_{t+1}), with v_{T-1} = u_{T-1}.
  at::Tensor correction = at::zeros_like(values.select(1, 0));
  targets[t_len - 1] = values.select(1, t_len - 1);
  for (int64_t t = t_len - 2; t >= 0; --t) {
    at::Tensor delta = rho.select(1, t) * (rewards.select(1, t) +
                                           gamma * values.select(1, t + 1) - values.select(1, t));
    correction = delta + gamma * c.select(1, t) * correction;
    targets[t] = values.select(1, t) + correction;
  }
  return at::stack(targets, 1);
}

at::Tensor ImaginedValueObjective(const ImaginationModel& model, const at::Tensor& x0,
                                  const at::Tensor& noise, const ImaginationOptions& options) {
  const int n = options.horizon;
  at::Tensor x = x0;
  at::Tensor discounted_rewards = at::zeros({x0.size(0)}, x0.options());
  at::Tensor total = at::zeros({x0.size(0)}, x0.options());
  double discount = 1.0;
  for (int j = 0; j < n; ++j) {
    auto [mean, log_std] = model.policy(x);
    at::Tensor a = mean + noise[j] * at::exp(log_std);
    at::Tensor next = model.transition(x, a);
    at::Tensor r = model.reward(next);
    if (options.kl_lambda != 0.0) {
      r = r - options.kl_lambda * (GaussianLogProb(a, mean, log_std) - StandardNormalLogProb(a));
    }
    discounted_rewards = discounted_rewards + discount * r;
    discount *= options.gamma;
    x = next;
    const int k = j + 1;
    if (!options.single_horizon || k == n) {
      total = total + discounted_rewards + discount * model.value(x);
    }
  }
  return options.single_horizon ? total : total / static_cast<double>(n);
}

at::Tensor LambdaReturns(const at::Tensor& rewards, const at::Tensor& values, double gamma,
                         double lambda) {
  torch::NoGradGuard no_grad;
  const int64_t n = rewards.size(0);
  std::vector<at::Tensor> returns(n);
  at::Tensor next = values[n];  // R_N = V(x_N)
  for (int64_t j = n - 1; j >= 0; --j) {
    next = rewards[j] + gamma * ((1.0 - lambda) * values[j + 1] + lambda * next);
    returns[j] = next;
  }
  return at::stack(returns, 0);
}

at::Tensor QCriticTargets(const at::Tensor& vtrace_targets, const at::Tensor& rewards,
                          double gamma) {
  torch::NoGradGuard no_grad;
  const int64_t t_len = vtrace_targets.size(1);
  return rewards.slice(1, 0, t_len - 1) + gamma * vtrace_targets.slice(1, 1, t_len);
}

at::Tensor LikelihoodRatioObjective(const ImaginationModel& model, const at::Tensor& x0,
                                    const at::Tensor& noise, const ImaginationOptions& options) {
  const int n = options.horizon;
  // The rollouts themselves carry no gradient: the estimator differentiates only
  // log pi(a_j | x_j) at the visited states and sampled actions, so only the policy's
  // outputs keep their graph (one forward per step serves the rollout and the estimator).
  std::vector<at::Tensor> states(n + 1), actions(n), rewards(n), values(n + 1);
  std::vector<at::Tensor> means(n), log_stds(n);
  states[0] = x0.detach();
  for (int j = 0; j < n; ++j) {
    std::tie(means[j], log_stds[j]) = model.policy(states[j]);
    torch::NoGradGuard no_grad;
    const at::Tensor mean = means[j].detach(), log_std = log_stds[j].detach();
    actions[j] = mean + noise[j] * at::exp(log_std);
    states[j + 1] = model.transition(states[j], actions[j]);
    rewards[j] = model.reward(states[j + 1]);
    if (options.kl_lambda != 0.0) {
      rewards[j] = rewards[j] - options.kl_lambda * (GaussianLogProb(actions[j], mean, log_std) -
                                                     StandardNormalLogProb(actions[j]));
    }
  }
  {
    torch::NoGradGuard no_grad;
    for (int k = 0; k <= n; ++k) values[k] = model.value(states[k]);
  }
  // The objective is sum_k w_k V_k with w_k = 1/N (or only w_N = 1 with single_horizon) and
  // V_k = sum_{i<k} gamma^i r_i + gamma^k V(x_k). a_j moves only the terms of the V_k with
  // k > j from r_j on: to_go_j = sum_{k>j} w_k (sum_{i=j}^{k-1} gamma^i r_i + gamma^k V(x_k)).
  // Its baseline, a function of x_j alone (so the estimator stays unbiased), is what those
  // terms are worth in expectation if V is the policy's value: sum_{k>j} w_k gamma^j V(x_j).
  auto weight = [&](int k) {
    return options.single_horizon ? (k == n ? 1.0 : 0.0) : 1.0 / static_cast<double>(n);
  };
  at::Tensor surrogate = at::zeros_like(values[0]);
  at::Tensor to_go = at::zeros_like(values[0]);  // to_go_j, built from j = N - 1 down.
  double weight_after = 0.0;  // sum_{k>j} w_k
  for (int j = n - 1; j >= 0; --j) {
    const double discount_j = std::pow(options.gamma, j);
    // to_go_j = to_go_{j+1} + (sum_{k>j} w_k) gamma^j r_j + w_{j+1} gamma^{j+1} V(x_{j+1}).
    weight_after += weight(j + 1);
    to_go = to_go + weight_after * discount_j * rewards[j] +
            weight(j + 1) * discount_j * options.gamma * values[j + 1];
    at::Tensor baseline = weight_after * discount_j * values[j];
    surrogate = surrogate + GaussianLogProb(actions[j], means[j], log_stds[j]) *
                                (to_go - baseline).detach();
  }
  // Value: the imagined objective (to_go_0 is all of it); gradient: the likelihood-ratio
  // estimate of its gradient.
  return to_go.detach() + (surrogate - surrogate.detach());
}

namespace {

// mean(w * (softplus(x) - x y)) / mean(w), w broadcast over the logits, or the plain mean
// where `weights` is empty (autograd functions take no undefined tensors);
// d/dx = w (sigmoid(x) - y) / (n mean(w)).
struct BceWithLogitsMean : public torch::autograd::Function<BceWithLogitsMean> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits,
                            const at::Tensor& targets, const at::Tensor& weights) {
    const bool weighted = weights.numel() > 0;
    const at::Tensor normalised = weighted ? weights / weights.mean() : weights;
    ctx->save_for_backward({logits, targets, normalised});
    // softplus returns x itself above 20, where log(1 + e^x) = x within 2e-9.
    at::Tensor loss = at::softplus(logits).addcmul_(logits, targets, /*value=*/-1);
    if (weighted) loss.mul_(normalised);
    return loss.mean();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& logits = saved[0];
    at::Tensor grad = at::sigmoid(logits).sub_(saved[1]);
    if (saved[2].numel() > 0) grad.mul_(saved[2]);
    grad.mul_(grad_output[0] / static_cast<double>(logits.numel()));
    return {grad, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor BinaryCrossEntropyWithLogitsMean(const at::Tensor& logits, const at::Tensor& targets) {
  return BceWithLogitsMean::apply(logits, targets, at::empty({0}, logits.options()));
}

at::Tensor WeightedBinaryCrossEntropyWithLogitsMean(const at::Tensor& logits,
                                                    const at::Tensor& targets,
                                                    const at::Tensor& weights) {
  return BceWithLogitsMean::apply(logits, targets, weights.detach());
}

at::Tensor BatchBackground(const at::Tensor& images) {
  torch::NoGradGuard no_grad;
  return std::get<0>(images.select(1, images.size(1) - 1).median(0));
}

at::Tensor ForegroundPixelWeights(const at::Tensor& frames, const at::Tensor& background,
                                  double c) {
  torch::NoGradGuard no_grad;
  const at::Tensor d = (frames - background).abs().amax(-3, /*keepdim=*/true);
  // Frames that all show the background have no foreground to weight.
  const at::Tensor scale = d.mean().clamp_min(1e-6);
  return d.div(scale).mul_(c).add_(1.0);
}

double ValueScale(const LossOptions& o) {
  return o.scale_value_by_one_minus_gamma ? (1.0 - o.gamma) : 1.0;
}

namespace {

// uint8 pixels [B, T, C, S, S] -> [0, 1] in the parameters' dtype and device.
at::Tensor UnitImages(const at::Tensor& pixels, const at::Tensor& like) {
  return pixels.to(like.options()) / 255.0;
}

// The predicted latents the reconstruction loss decodes and the frames they are compared
// with: all K steps, or the batch's reconstructed_steps of each sequence.
struct ReconstructionInputs {
  at::Tensor latents;  // [B, K, D] or [B * n, D].
  at::Tensor images;   // [B, K, C, S, S] or [B * n, C, S, S], in [0, 1].
  at::Tensor proprio;  // [B, K, P] or [B * n, P].
};

ReconstructionInputs SelectReconstructed(const at::Tensor& gs, const at::Tensor& images,
                                         const at::Tensor& proprio, const Batch& batch,
                                         int burn_in) {
  const int64_t b = images.size(0), l = images.size(1), k = gs.size(1);
  if (!batch.reconstructed_steps.defined()) {
    return {gs, images.slice(1, burn_in, l), proprio.slice(1, burn_in, l)};
  }
  // Row j of sequence i is g at step s = reconstructed_steps[i, j]: row i * K + s of the
  // flattened predictions, and frame i * L + H + s of the flattened sequence.
  const at::Tensor steps = batch.reconstructed_steps.to(gs.device());
  const at::Tensor first = at::arange(b, steps.options()).unsqueeze(1);
  const at::Tensor predicted_rows = (first * k + steps).flatten();
  const at::Tensor frame_rows = (first * l + burn_in + steps).flatten();
  return {gs.flatten(0, 1).index_select(0, predicted_rows),
          images.flatten(0, 1).index_select(0, frame_rows),
          proprio.flatten(0, 1).index_select(0, frame_rows)};
}

}  // namespace

at::Tensor ModelInputAction(const at::Tensor& u, const ModelOptions& model,
                            const LossOptions& o) {
  if (model.tanh_squashed_policy) return SquashAction(u, model);
  return o.clip_model_actions ? u.clamp(-1.0, 1.0) : u;
}

at::Tensor TaskReward(const at::Tensor& rewards, const at::Tensor& task_ids) {
  at::Tensor index = task_ids.view({-1, 1, 1}).expand({rewards.size(0), rewards.size(1), 1});
  return rewards.gather(2, index).squeeze(2);
}

at::Tensor OpenLoopRollout(TransitionImpl& transition, const at::Tensor& latents,
                           const at::Tensor& actions, int burn_in) {
  const int64_t l = actions.size(1);
  std::vector<at::Tensor> predicted;
  predicted.reserve(l - burn_in);
  at::Tensor g = latents.select(1, burn_in - 1);
  for (int64_t i = burn_in - 1; i < l - 1; ++i) {
    g = transition.forward(g, actions.select(1, i));
    predicted.push_back(g);
  }
  return at::stack(predicted, 1);
}

OpenLoopPrediction PredictOpenLoop(IvgModelImpl& model, const Batch& batch,
                                   const LossOptions& o) {
  const at::Tensor like = model.transition->parameters().front();
  const int64_t l = batch.images.size(1);
  const int h = o.burn_in;
  // The encoder is causal (a per-frame tower and an LSTM from a fresh state), so encoding the
  // burn-in alone gives the model loss's e_{H-1} without showing it later frames.
  at::Tensor e = model.encoder->forward(UnitImages(batch.images.slice(1, 0, h), like),
                                        batch.proprio.slice(1, 0, h).to(like.options()));
  at::Tensor actions = ModelInputAction(batch.actions.to(like.options()), model.options(), o);
  at::Tensor gs = OpenLoopRollout(*model.transition, e, actions, h);
  auto [image_logits, proprio_pred] = model.decoder->forward(gs);
  OpenLoopPrediction out;
  out.true_images = UnitImages(batch.images.slice(1, h, l), like);
  out.predicted_images = at::sigmoid(image_logits);
  out.true_proprio = batch.proprio.slice(1, h, l).to(like.options());
  out.predicted_proprio = proprio_pred;
  return out;
}

ModelLossTerms ComputeModelLoss(IvgModelImpl& model, const Batch& batch,
                                const LossOptions& o) {
  const at::Tensor like = model.transition->parameters().front();
  const int64_t b = batch.images.size(0), l = batch.images.size(1);
  const int h = o.burn_in;
  at::Tensor images = UnitImages(batch.images, like);
  at::Tensor proprio = batch.proprio.to(like.options());
  at::Tensor actions = batch.actions.to(like.options());
  // What the environment executed; the raw samples stay for the policy densities.
  at::Tensor model_actions = ModelInputAction(actions, model.options(), o);
  at::Tensor rewards = batch.rewards.to(like.options());
  at::Tensor mu_log_probs = batch.behaviour_log_probs.to(like.options());
  at::Tensor task_ids = batch.task_ids.to(like.device());
  at::Tensor onehot = TaskOneHot(task_ids, model.options().num_tasks, like);  // [B, M]
  at::Tensor onehot_seq = onehot.unsqueeze(1).expand({b, l, onehot.size(1)});
  at::Tensor task_rewards = TaskReward(rewards, task_ids);  // [B, L]
  const double scale = ValueScale(o);

  const bool svg0 = o.policy_algorithm == PolicyAlgorithm::kSvg0;
  // Model-free SVG(0): no transition, decoder or reward head; the value and the Q critic
  // train on the encoder's own latents and are the encoder's only training signal.
  const bool model_free = svg0 && !o.svg0_model_loss;

  ModelLossTerms out;
  // Per-frame features once; the LSTM runs over the whole sequence for the model loss and
  // over each H-frame window for the actors' latents.
  const at::Tensor features = model.encoder->EncodeFrames(images, proprio);  // [B, L, F]
  at::Tensor e = model.encoder->Integrate(features);                         // [B, L, D]
  out.latents = e;
  // Steps H-1 .. L-1 (the S = L - H + 1 steps with H frames up to them).
  const int64_t first_start = h - 1;
  if (svg0) {
    // The Q critic (and, model-free, the value) trains the encoder through these latents.
    out.start_latents = model.encoder->IntegrateWindows(features, h);
  } else {
    torch::NoGradGuard no_grad;
    out.start_latents = model.encoder->IntegrateWindows(features.detach(), h);
  }
  const at::Tensor starts = out.start_latents.detach();  // [B, S, D]
  const int64_t s_len = starts.size(1);
  const at::Tensor start_actions = actions.slice(1, first_start, l);
  const at::Tensor start_onehot = onehot_seq.slice(1, first_start, l);

  at::Tensor gs;  // Open-loop rollout from the end of burn-in: [B, K, D], times h..l-1.
  if (model_free) {
    const at::Tensor zero = at::zeros({}, like.options());
    out.reconstruction_image = out.reconstruction_proprio = out.consistency = out.reward = zero;
  } else {
    gs = OpenLoopRollout(*model.transition, e, model_actions, h);
    ReconstructionInputs decode = SelectReconstructed(gs, images, proprio, batch, h);
    auto [image_logits, proprio_pred] = model.decoder->forward(decode.latents);
    if (!model.options().has_images()) {
      // From state the decoder reconstructs the state vector: the proprio term alone.
      out.reconstruction_image = at::zeros({}, like.options());
    } else if (o.reconstruction_foreground_weight > 0.0) {
      out.reconstruction_image = WeightedBinaryCrossEntropyWithLogitsMean(
          image_logits, decode.images,
          ForegroundPixelWeights(decode.images, BatchBackground(images),
                                 o.reconstruction_foreground_weight));
    } else {
      out.reconstruction_image = BinaryCrossEntropyWithLogitsMean(image_logits, decode.images);
    }
    out.reconstruction_proprio = (proprio_pred - decode.proprio).pow(2).mean();
    out.consistency = (e.slice(1, h, l) - gs).pow(2).mean();
    out.predicted_latents = gs;
    // r_hat reads the latent after the action: g_{t+1} (and e_{t+1}) predict r_t.
    out.reward = (model.reward->forward(gs) - rewards.slice(1, h - 1, l - 1)).pow(2).mean();
    if (o.reward_loss_on_encodings) {
      at::Tensor on_encodings =
          (model.reward->forward(e.slice(1, 1, l)) - rewards.slice(1, 0, l - 1)).pow(2).mean();
      out.reward = 0.5 * (out.reward + on_encodings);
    }
  }

  // V-trace targets from the target network psi over steps H-1 .. L-1, with detached policy
  // log-densities at the actors' latents: pi is evaluated where mu was (rho = 1 on-policy).
  at::Tensor rho_weights, q_targets;
  {
    torch::NoGradGuard no_grad;
    at::Tensor u = model.TargetValue(
                       model.target_encoder->forward(images, proprio).slice(1, first_start, l),
                       start_onehot) /
                   scale;
    // The target policy: the parametric policy, or for CEM the planner's distribution.
    at::Tensor mean, log_std;
    if (o.policy_algorithm == PolicyAlgorithm::kCem) {
      std::tie(mean, log_std) = CemActionDistribution(model, starts, task_ids, o);
    } else {
      std::tie(mean, log_std) = model.policy->forward(starts, start_onehot);
    }
    const at::Tensor log_pi = GaussianLogProb(start_actions, mean, log_std);
    at::Tensor r = task_rewards.slice(1, first_start, l);
    if (o.kl_regularization) {
      r = r - o.kl_lambda * (log_pi - StandardNormalLogProb(start_actions));
    }
    out.log_ratios = log_pi - mu_log_probs.slice(1, first_start, l);
    out.vtrace_targets = VTraceTargets(u, r, out.log_ratios, o.gamma, o.vtrace_rho_clip,
                                       o.vtrace_c_clip);
    rho_weights = at::clamp_max(at::exp(out.log_ratios), o.vtrace_rho_clip);
    if (svg0) q_targets = QCriticTargets(out.vtrace_targets, r, o.gamma) * scale;
  }
  // The value trains on the predicted latents g_H..g_{L-1} (IVG; targets from index 1 of the
  // S steps) or, model-free, on the actors' latents of steps H-1 .. L-1.
  const int64_t first = model_free ? 0 : 1;
  at::Tensor value_error =
      (model.Value(model_free ? out.start_latents : gs, start_onehot.slice(1, first, s_len)) -
       out.vtrace_targets.slice(1, first, s_len) * scale)
          .pow(2);
  if (o.value_loss_importance_weight) {
    value_error = value_error * rho_weights.slice(1, first, s_len);
  }
  out.value = value_error.mean();
  out.vtrace_value = out.value;

  if (svg0) {
    // Q(s_t, a_t) at the actors' latents of steps H-1 .. L-2, where the policy reads it.
    at::Tensor q_pred = model.Q(out.start_latents.slice(1, 0, s_len - 1),
                                model_actions.slice(1, first_start, l - 1),
                                start_onehot.slice(1, 0, s_len - 1));
    out.q = (q_pred - q_targets).pow(2).mean();
  } else {
    out.q = at::zeros({}, like.options());
  }
  out.start_latents = out.start_latents.detach();

  out.total = o.reconstruction_weight * (out.reconstruction_image + out.reconstruction_proprio) +
              o.zeta_consistency * out.consistency + o.alpha_reward * out.reward +
              o.beta_value * (out.value + out.q);
  return out;
}

ImaginedValueTerms ComputeImaginedValueLoss(IvgModelImpl& model, const at::Tensor& start_latents,
                                            const at::Tensor& task_ids, const at::Tensor& noise,
                                            const LossOptions& o) {
  const int n = o.imagination_horizon;
  const int64_t b = start_latents.size(0), s = start_latents.size(1);
  const double scale = ValueScale(o);
  const double lambda = o.kl_regularization ? o.kl_lambda : 0.0;
  at::Tensor x = start_latents.detach().reshape({b * s, start_latents.size(2)});
  const at::Tensor ids = task_ids.to(x.device()).repeat_interleave(s);
  const at::Tensor onehot = TaskOneHot(ids, model.options().num_tasks, x);
  const at::Tensor eps = noise.to(x.options());
  ImaginedValueTerms out;
  std::vector<at::Tensor> states, rewards, values;
  {
    // The rollout and its targets carry no gradient: only V(x_j) below is trained.
    torch::NoGradGuard no_grad;
    values.push_back(model.TargetValue(x, onehot) / scale);
    for (int j = 0; j < n; ++j) {
      states.push_back(x);
      auto [mean, log_std] = model.policy->forward(x, onehot);
      const at::Tensor a = mean + eps[j] * at::exp(log_std);
      x = model.transition->forward(x, ModelInputAction(a, model.options(), o));
      at::Tensor r = HeadReward(*model.reward, x, ids);
      if (lambda != 0.0) {
        r = r - lambda * (GaussianLogProb(a, mean, log_std) - StandardNormalLogProb(a));
      }
      rewards.push_back(r);
      values.push_back(model.TargetValue(x, onehot) / scale);
    }
    out.targets = LambdaReturns(at::stack(rewards), at::stack(values), o.gamma,
                                o.imagined_value_lambda);
    out.latents = at::stack(states);
  }
  const at::Tensor predicted =
      model.Value(out.latents, onehot.unsqueeze(0).expand({n, b * s, onehot.size(1)}));
  out.loss = (predicted - out.targets * scale).pow(2).mean();
  return out;
}

std::pair<at::Tensor, at::Tensor> CemActionDistribution(IvgModelImpl& model,
                                                        const at::Tensor& latents,
                                                        const at::Tensor& task_ids,
                                                        const LossOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t b = latents.size(0), l = latents.size(1);
  at::Tensor x0 = latents.reshape({b * l, latents.size(2)});
  at::Tensor ids = task_ids.to(at::kLong).repeat_interleave(l);
  PlanningModel planning =
      LearnedPlanningModel(model.transition, model.reward, model.value, ids,
                           model.options().num_tasks, o.cem.trajectories, ValueScale(o));
  CemPlan plan = PlanWithCem(planning, x0, model.options().action_size, o.cem, o.gamma);
  const int64_t a = model.options().action_size;
  return {plan.mean.select(1, 0).reshape({b, l, a}),
          plan.std.select(1, 0).log().reshape({b, l, a})};
}

at::Tensor MeanBeyondBoundsPenalty(const at::Tensor& mean) {
  return at::relu(mean.abs() - 1.0).square().sum(-1).mean();
}

at::Tensor BehaviourNll(const at::Tensor& actions, const at::Tensor& mean,
                        const at::Tensor& log_std) {
  return -GaussianLogProb(actions, mean, log_std).mean();
}

namespace {

// The objective's policy loss without the bound penalty (ComputePolicyLoss).
at::Tensor ObjectivePolicyLoss(IvgModelImpl& model, const at::Tensor& x0, const at::Tensor& ids,
                               const at::Tensor& onehot, const at::Tensor& noise,
                               const LossOptions& o) {
  const double scale = ValueScale(o);
  const double lambda = o.kl_regularization ? o.kl_lambda : 0.0;
  at::Tensor eps = noise.to(x0.options());

  if (o.policy_algorithm == PolicyAlgorithm::kSvg0 || o.imagination_horizon == 0) {
    auto [mean, log_std] = model.policy->forward(x0, onehot);
    at::Tensor a = mean + eps[0] * at::exp(log_std);
    at::Tensor objective = model.Q(x0, ModelInputAction(a, model.options(), o), onehot) / scale;
    if (lambda != 0.0) {
      objective = objective - lambda * (GaussianLogProb(a, mean, log_std) -
                                        StandardNormalLogProb(a));
    }
    return -objective.mean();
  }

  ImaginationModel fns;
  fns.policy = [&](const at::Tensor& x) { return model.policy->forward(x, onehot); };
  fns.transition = [&](const at::Tensor& x, const at::Tensor& a) {
    // Clipped, the objective has no gradient pulling the mean beyond the bounds; the KL term
    // still pulls it back towards the prior. Squashed, the gradient fades as tanh saturates.
    return model.transition->forward(x, ModelInputAction(a, model.options(), o));
  };
  fns.reward = [&](const at::Tensor& x) { return HeadReward(*model.reward, x, ids); };
  fns.value = [&](const at::Tensor& x) { return model.Value(x, onehot) / scale; };
  ImaginationOptions io;
  io.horizon = o.imagination_horizon;
  io.single_horizon = o.single_horizon;
  io.gamma = o.gamma;
  io.kl_lambda = lambda;
  if (o.policy_algorithm == PolicyAlgorithm::kPg) {
    return -LikelihoodRatioObjective(fns, x0, eps, io).mean();
  }
  return -ImaginedValueObjective(fns, x0, eps, io).mean();
}

}  // namespace

at::Tensor ComputePolicyLoss(IvgModelImpl& model, const at::Tensor& latents,
                             const at::Tensor& task_ids, const at::Tensor& noise,
                             const LossOptions& o, const at::Tensor& behaviour_actions) {
  // CEM has no parametric policy to train: a constant, which gives the policy no gradient.
  if (o.policy_algorithm == PolicyAlgorithm::kCem) {
    return at::zeros({}, latents.options());
  }
  const int64_t b = latents.size(0), l = latents.size(1);
  // Every latent is a start state; PG imagines pg_rollouts from each (rows grouped per start).
  const int64_t rollouts = o.policy_rollouts_per_start();
  at::Tensor x0 = latents.detach().reshape({b * l, latents.size(2)});
  // The start states once each (PG repeats them below), for the terms on the replayed data.
  const at::Tensor starts = x0;
  if (rollouts > 1) x0 = x0.repeat_interleave(rollouts, 0);
  at::Tensor ids = task_ids.to(x0.device()).repeat_interleave(l * rollouts);  // [B * L * R]
  at::Tensor onehot = TaskOneHot(ids, model.options().num_tasks, x0);
  at::Tensor loss = ObjectivePolicyLoss(model, x0, ids, onehot, noise, o);
  if (o.policy_mean_bound_penalty > 0.0) {
    // On the start states only: they are the states the actors act in.
    at::Tensor start_mean = model.policy->forward(x0, onehot).first;
    loss = loss + o.policy_mean_bound_penalty * MeanBeyondBoundsPenalty(start_mean);
  }
  if (o.policy_behaviour_nll_weight > 0.0) {
    if (!behaviour_actions.defined()) {
      throw std::invalid_argument(
          "policy_behaviour_nll_weight > 0 needs the batch's actions (behaviour_actions)");
    }
    // Each replayed action a_t at the latent it was chosen from (the actor's latent of the
    // same last H frames: the start states).
    at::Tensor start_ids = task_ids.to(starts.device()).repeat_interleave(l);
    auto [mean, log_std] =
        model.policy->forward(starts, TaskOneHot(start_ids, model.options().num_tasks, starts));
    const at::Tensor actions =
        behaviour_actions.to(starts.options()).reshape({b * l, behaviour_actions.size(2)});
    loss = loss + o.policy_behaviour_nll_weight * BehaviourNll(actions, mean, log_std);
  }
  return loss;
}

}  // namespace ivg::model
