#include "model/core/learner_core.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <limits>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "model/core/losses.h"

namespace ivg::model {
namespace {

at::Tensor Flatten(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> flat;
  flat.reserve(tensors.size());
  for (const auto& t : tensors) flat.push_back(t.reshape({-1}));
  return at::cat(flat);
}

void Unflatten(const at::Tensor& flat, std::vector<at::Tensor>& tensors) {
  int64_t offset = 0;
  for (auto& t : tensors) {
    const int64_t n = t.numel();
    t.copy_(flat.slice(0, offset, offset + n).view_as(t));
    offset += n;
  }
}

bool Finite(double v) { return std::isfinite(v); }

// Norm of the gradients of `params`; scales them to at most `max_norm` when max_norm > 0.
double ClipGradients(const std::vector<at::Tensor>& params, double max_norm) {
  // Summed as tensors and read once: one host read (a device sync on a GPU) per optimiser,
  // not one per parameter.
  at::Tensor sum;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    at::Tensor square = p.grad().pow(2).sum();
    sum = sum.defined() ? sum.add_(square) : square;
  }
  const double norm = sum.defined() ? std::sqrt(sum.item<double>()) : 0.0;
  if (max_norm > 0 && norm > max_norm) {
    const double factor = max_norm / (norm + 1e-6);
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(factor);
    }
  }
  return norm;
}

}  // namespace

LearnerCore::LearnerCore(const CoreOptions& options, at::Device device)
    : options_(options),
      device_(device),
      noise_generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed * 7919 + 17 +
                                                                options.noise_stream * 104729)) {
  model_ = IvgModel(options_.model);
  model_->to(device_, options_.double_precision ? at::kDouble : at::kFloat);
  const OptimizerOptions& o = options_.optimizer;
  model_optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->ModelParameters(), torch::optim::AdamOptions(o.model_learning_rate)
                                     .betas(std::make_tuple(o.adam_beta1, o.adam_beta2))
                                     .eps(o.adam_epsilon));
  policy_optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->PolicyParameters(), torch::optim::AdamOptions(o.policy_learning_rate)
                                      .betas(std::make_tuple(o.adam_beta1, o.adam_beta2))
                                      .eps(o.adam_epsilon));
}

Result<std::unique_ptr<LearnerCore>> LearnerCore::Create(const CoreOptions& options) {
  CoreOptions o = options;
  const LossOptions& l = o.loss;
  if (l.burn_in < 1) return Result<std::unique_ptr<LearnerCore>>::Failure("burn_in must be >= 1");
  if (l.model_rollout < 1) {
    return Result<std::unique_ptr<LearnerCore>>::Failure("model_rollout must be >= 1");
  }
  if (l.imagination_horizon < 0) {
    return Result<std::unique_ptr<LearnerCore>>::Failure("imagination_horizon must be >= 0");
  }
  if (o.optimizer.target_update_period < 1 || o.optimizer.max_consecutive_nonfinite_steps < 1) {
    return Result<std::unique_ptr<LearnerCore>>::Failure(
        "target_update_period and max_consecutive_nonfinite_steps must be >= 1");
  }
  // N = 0 leaves no path from the action to the objective: only SVG(0), with its Q critic,
  // trains a policy then (the config loader states the same rule for config files).
  if (l.imagination_horizon == 0 && l.policy_algorithm != PolicyAlgorithm::kSvg0) {
    return Result<std::unique_ptr<LearnerCore>>::Failure(
        "imagination_horizon 0 needs policy_algorithm kSvg0 (IVG(0) has no path from the "
        "action to the objective without a Q critic)");
  }
  if (l.policy_algorithm == PolicyAlgorithm::kPg && l.pg_rollouts < 1) {
    return Result<std::unique_ptr<LearnerCore>>::Failure("pg_rollouts must be >= 1");
  }
  o.model.with_q_critic = o.loss.policy_algorithm == PolicyAlgorithm::kSvg0;
  try {
    at::Device device(at::kCPU);
    if (o.use_cuda_if_available && torch::cuda::is_available()) device = at::Device(at::kCUDA, 0);
    torch::manual_seed(static_cast<uint64_t>(o.seed));
    return std::unique_ptr<LearnerCore>(new LearnerCore(o, device));
  } catch (const std::exception& e) {
    return Result<std::unique_ptr<LearnerCore>>::Failure(
        std::string("cannot build the learner networks: ") + e.what());
  }
}

at::Tensor LearnerCore::DrawPolicyNoise(int64_t batch_size) {
  const int64_t n = options_.loss.noise_steps();
  at::Tensor noise = at::randn(
      {n,
       batch_size * options_.loss.start_states_per_sequence() *
           options_.loss.policy_rollouts_per_start(),
       options_.model.action_size},
      noise_generator_,
      at::TensorOptions().dtype(options_.double_precision ? at::kDouble : at::kFloat));
  return noise.to(device_);
}

at::Tensor LearnerCore::DrawReconstructedSteps(int64_t batch_size) {
  const LossOptions& l = options_.loss;
  if (!l.reconstructs_subset()) return {};
  // The first n of a random permutation per row: n distinct steps, each equally likely.
  const at::Tensor keys = at::rand({batch_size, l.model_rollout}, noise_generator_);
  return keys.argsort(/*dim=*/int64_t{1}, /*descending=*/false)
      .slice(1, 0, l.reconstructed_steps_per_sequence)
      .to(device_);
}

namespace {

// The module group a parameter's gradient norm is reported under.
std::string GradGroup(const std::string& name) {
  const std::string module = name.substr(0, name.find('.'));
  if (module == "reward" || module == "value" || module == "q") return "heads";
  return module;
}

}  // namespace

double ExplainedVariance(const at::Tensor& prediction, const at::Tensor& target) {
  const at::Tensor y = target.to(at::kDouble);
  const double variance = y.var(/*unbiased=*/false).item<double>();
  if (!(variance >= 1e-12)) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - (y - prediction.to(at::kDouble)).var(/*unbiased=*/false).item<double>() / variance;
}

void LearnerCore::FillDiagnostics(const ModelLossTerms& terms, const Batch& batch,
                                  double policy_loss, StepDiagnostics* d) {
  torch::NoGradGuard no_grad;
  // The policy's statistics at the states it acts in and trains from (the start states).
  const at::Tensor starts = terms.start_latents.detach();  // [B, S, D], steps H-1 .. L-1
  const at::Tensor ids = batch.task_ids.to(starts.device());
  const at::Tensor start_onehot =
      TaskOneHot(ids, options_.model.num_tasks, starts)
          .unsqueeze(1)
          .expand({starts.size(0), starts.size(1), options_.model.num_tasks});
  auto [mean, log_std] = model_->policy->forward(starts, start_onehot);
  d->policy_log_std_mean = log_std.mean().item<double>();
  d->policy_abs_mean_action = mean.abs().mean().item<double>();
  d->policy_mean_outside_bounds = (mean.abs() > 1.0).to(at::kDouble).mean().item<double>();
  // Both regularisers are functions of the policy at these same latents, so they come off
  // the loss exactly.
  const int64_t seq = batch.actions.size(1);
  d->behaviour_nll =
      BehaviourNll(batch.actions.slice(1, seq - starts.size(1), seq).to(mean.options()), mean,
                   log_std)
          .item<double>();
  double regularisers = options_.loss.policy_behaviour_nll_weight * d->behaviour_nll;
  if (options_.loss.policy_mean_bound_penalty > 0.0) {
    regularisers += options_.loss.policy_mean_bound_penalty *
                    MeanBeyondBoundsPenalty(mean).item<double>();
  }
  d->imagined_objective = -(policy_loss - regularisers);
  // V at the start states, against the V-trace targets of the same steps.
  const at::Tensor value = model_->Value(starts, start_onehot) / ValueScale(options_.loss);
  d->value_mean = value.mean().item<double>();
  d->value_target_mean = terms.vtrace_targets.mean().item<double>();
  d->value_explained_variance = ExplainedVariance(value, terms.vtrace_targets);
  // The reward head reads the latent after the action: r_hat(e_{t+1}) predicts r_t.
  const at::Tensor x = terms.latents.detach();
  const int64_t b = x.size(0), l = x.size(1);
  const at::Tensor after = x.slice(1, 1, l).reshape({b * (l - 1), x.size(2)});
  const at::Tensor predicted_reward =
      HeadReward(*model_->reward, after, ids.repeat_interleave(l - 1)).view({b, l - 1});
  const at::Tensor task_reward = TaskReward(batch.rewards.to(x.options()), ids).slice(1, 0, l - 1);
  d->reward_explained_variance = ExplainedVariance(predicted_reward, task_reward);
  d->open_loop_reward_explained_variance = std::numeric_limits<double>::quiet_NaN();
  if (terms.predicted_latents.defined()) {
    const at::Tensor g = terms.predicted_latents.detach();  // times h..l-1
    const int64_t k = g.size(1);
    const at::Tensor open_loop_reward =
        HeadReward(*model_->reward, g.reshape({b * k, g.size(2)}), ids.repeat_interleave(k))
            .view({b, k});
    d->open_loop_reward_explained_variance =
        ExplainedVariance(open_loop_reward, TaskReward(batch.rewards.to(x.options()), ids)
                                                .slice(1, l - 1 - k, l - 1));
  }
  // Summed as tensors and read once per group: one host read per group, not per parameter.
  std::map<std::string, at::Tensor> squares;
  for (const auto& item : model_->named_parameters(/*recurse=*/true)) {
    const at::Tensor& grad = item.value().grad();
    if (!grad.defined()) continue;
    at::Tensor& sum = squares[GradGroup(item.key())];
    sum = sum.defined() ? sum + grad.pow(2).sum() : grad.pow(2).sum();
  }
  d->grad_norms.clear();
  for (const auto& [group, sum] : squares) d->grad_norms[group] = std::sqrt(sum.item<double>());
}

Result<LossValues> LearnerCore::ComputeGradients(const Batch& batch,
                                                 StepDiagnostics* diagnostics) {
  try {
    auto model_params = model_->ModelParameters();
    auto policy_params = model_->PolicyParameters();
    Batch decoded = batch;  // Shares the tensors; only the reconstructed steps may be added.
    if (!decoded.reconstructed_steps.defined()) {
      decoded.reconstructed_steps = DrawReconstructedSteps(batch.images.size(0));
    }
    ModelLossTerms terms = ComputeModelLoss(*model_, decoded, options_.loss);
    at::Tensor noise = batch.policy_noise.defined() ? batch.policy_noise
                                                    : DrawPolicyNoise(batch.images.size(0));
    const ValueTarget value_target = options_.loss.value_target;
    if (value_target != ValueTarget::kVTrace) {
      // V fitted where the policy differentiates it: on the policy's own imagined rollouts
      // (the objective's noise), alone or beside the V-trace term.
      const at::Tensor imagined = ComputeImaginedValueLoss(*model_, terms.start_latents,
                                                           batch.task_ids, noise, options_.loss)
                                      .loss;
      const at::Tensor value =
          value_target == ValueTarget::kImagined ? imagined : 0.5 * (terms.vtrace_value + imagined);
      terms.total = terms.total + options_.loss.beta_value * (value - terms.value);
      terms.value = value;
    }
    // The policy trains at the actors' latents (steps H-1 .. L-1), with the actions taken there.
    const int64_t l = batch.actions.size(1);
    at::Tensor policy_loss = ComputePolicyLoss(
        *model_, terms.start_latents, batch.task_ids, noise, options_.loss,
        batch.actions.slice(1, l - options_.loss.start_states_per_sequence(), l));
    // autograd::grad with explicit inputs: each loss reaches only its own parameters.
    auto model_grads = torch::autograd::grad({terms.total}, model_params, {},
                                             /*retain_graph=*/false, /*create_graph=*/false,
                                             /*allow_unused=*/true);
    // A CEM run's policy loss is a constant: its (unused) policy gets zero gradients.
    auto policy_grads = policy_loss.requires_grad()
                            ? torch::autograd::grad({policy_loss}, policy_params, {},
                                                    /*retain_graph=*/false,
                                                    /*create_graph=*/false, /*allow_unused=*/true)
                            : torch::autograd::variable_list(policy_params.size());
    for (size_t i = 0; i < model_params.size(); ++i) {
      model_params[i].mutable_grad() =
          model_grads[i].defined() ? model_grads[i] : at::zeros_like(model_params[i]);
    }
    for (size_t i = 0; i < policy_params.size(); ++i) {
      policy_params[i].mutable_grad() =
          policy_grads[i].defined() ? policy_grads[i] : at::zeros_like(policy_params[i]);
    }
    LossValues v;
    const std::pair<const char*, at::Tensor*> named[] = {
        {"reconstruction_image", &terms.reconstruction_image},
        {"reconstruction_proprio", &terms.reconstruction_proprio},
        {"consistency", &terms.consistency},
        {"reward", &terms.reward},
        {"value", &terms.value},
        {"q", &terms.q},
        {"model_total", &terms.total},
        {"policy", &policy_loss}};
    double* slots[] = {&v.reconstruction_image, &v.reconstruction_proprio, &v.consistency,
                       &v.reward, &v.value, &v.q, &v.model_total, &v.policy};
    for (size_t i = 0; i < 8; ++i) {
      *slots[i] = named[i].second->item<double>();
      if (!Finite(*slots[i]) && v.first_nonfinite.empty()) v.first_nonfinite = named[i].first;
    }
    if (diagnostics != nullptr) FillDiagnostics(terms, batch, v.policy, diagnostics);
    return v;
  } catch (const std::exception& e) {
    return Result<LossValues>::Failure(std::string("learner step failed: ") + e.what());
  }
}

Result<OpenLoopPrediction> LearnerCore::PredictOpenLoop(const Batch& batch) {
  if (Error e = ValidateBatch(batch, options_)) return Result<OpenLoopPrediction>::Failure(*e);
  try {
    torch::NoGradGuard no_grad;
    return model::PredictOpenLoop(*model_, batch, options_.loss);
  } catch (const std::exception& e) {
    return Result<OpenLoopPrediction>::Failure(std::string("open-loop prediction failed: ") +
                                               e.what());
  }
}

Result<StepStats> LearnerCore::Step(const Batch& batch, Collective* collective) {
  if (Error e = ValidateBatch(batch, options_)) return Result<StepStats>::Failure(*e);
  StepStats stats;
  Result<LossValues> losses = ComputeGradients(batch, &stats.diagnostics);
  if (!losses.ok()) return Result<StepStats>::Failure(losses.error());
  stats.losses = losses.value();
  try {
    auto model_params = model_->ModelParameters();
    auto policy_params = model_->PolicyParameters();
    std::vector<at::Tensor> grads;
    for (auto& p : model_params) grads.push_back(p.grad());
    for (auto& p : policy_params) grads.push_back(p.grad());
    const bool local_nonfinite = !stats.losses.first_nonfinite.empty();
    // The skip flag travels with the gradients so that every learner skips together.
    grads.push_back(at::full({1}, local_nonfinite ? 1.0 : 0.0, grads.front().options()));
    at::Tensor flat = Flatten(grads);
    if (collective != nullptr && collective->world_size() > 1) {
      auto start = std::chrono::steady_clock::now();
      if (Error e = collective->AllReduceSum(flat)) {
        return Result<StepStats>::Failure("gradient all-reduce failed: " + *e);
      }
      stats.allreduce_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      flat.div_(static_cast<double>(collective->world_size()));
    }
    const int64_t n = flat.numel() - 1;
    const bool any_loss_nonfinite = flat[n].item<double>() != 0.0;
    const bool grads_finite = at::isfinite(flat.slice(0, 0, n)).all().item<bool>();
    if (any_loss_nonfinite || !grads_finite) {
      for (auto& p : model_params) p.mutable_grad() = at::Tensor();
      for (auto& p : policy_params) p.mutable_grad() = at::Tensor();
      ++consecutive_nonfinite_;
      if (local_nonfinite) {
        stats.skip_reason = "loss term '" + stats.losses.first_nonfinite + "' is not finite";
      } else if (any_loss_nonfinite) {
        stats.skip_reason = "a loss term is not finite on another learner";
      } else {
        stats.skip_reason = "gradient not finite (losses finite)";
      }
      stats.consecutive_nonfinite = consecutive_nonfinite_;
      stats.step = step_;
      if (consecutive_nonfinite_ >= options_.optimizer.max_consecutive_nonfinite_steps) {
        return Result<StepStats>::Failure(
            "stopping: " + std::to_string(consecutive_nonfinite_) +
            " consecutive learner steps with non-finite values (limit " +
            std::to_string(options_.optimizer.max_consecutive_nonfinite_steps) +
            "); last: " + stats.skip_reason);
      }
      return stats;
    }
    grads.pop_back();
    {
      torch::NoGradGuard no_grad;
      Unflatten(flat.slice(0, 0, n), grads);
    }
    stats.model_grad_norm = ClipGradients(model_params, options_.optimizer.max_grad_norm);
    stats.policy_grad_norm = ClipGradients(policy_params, options_.optimizer.max_grad_norm);
    model_optimizer_->step();
    policy_optimizer_->step();
    consecutive_nonfinite_ = 0;
    ++step_;
    if (step_ % options_.optimizer.target_update_period == 0) {
      model_->UpdateTarget();
      ++target_updates_;
      stats.target_updated = true;
    }
    stats.applied = true;
    stats.step = step_;
    return stats;
  } catch (const std::exception& e) {
    return Result<StepStats>::Failure(std::string("learner step failed: ") + e.what());
  }
}

std::vector<std::pair<std::string, at::Tensor>> LearnerCore::ActorParameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : model_->named_parameters()) {
    if (IsActorParameter(item.key(), options_.loss.policy_algorithm)) {
      out.emplace_back(item.key(), item.value());
    }
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> LearnerCore::AllParameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : model_->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace ivg::model
