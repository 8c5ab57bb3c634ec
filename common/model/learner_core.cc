#include "common/model/learner_core.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <sstream>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/cuda.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include "common/model/losses.h"

namespace ivg::model {
namespace {

// Flushes `path` (a file, or a directory after a rename in it) to the disk.
bool FsyncPath(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = fsync(fd) == 0;
  close(fd);
  return synced;
}

std::string ShapeString(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::vector<std::string> SplitName(const std::string& name) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : name) {
    if (c == '.') {
      parts.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  parts.push_back(current);
  return parts;
}

// Reads `name` ("a.b.weight") from nested sub-archives into `target`, checking the shape
// (Module::load would silently replace a mis-sized tensor).
Error ReadChecked(torch::serialize::InputArchive& archive, const std::vector<std::string>& path,
                  size_t index, const std::string& full_name, at::Tensor& target) {
  if (index + 1 == path.size()) {
    at::Tensor loaded;
    if (!archive.try_read(path[index], loaded)) {
      return "checkpoint has no tensor '" + full_name + "'";
    }
    if (loaded.sizes() != target.sizes()) {
      return "checkpoint tensor '" + full_name + "' has shape " + ShapeString(loaded.sizes()) +
             ", this model expects " + ShapeString(target.sizes());
    }
    torch::NoGradGuard no_grad;
    target.copy_(loaded);
    return std::nullopt;
  }
  torch::serialize::InputArchive sub;
  if (!archive.try_read(path[index], sub)) {
    return "checkpoint has no module '" + path[index] + "' (reading '" + full_name + "')";
  }
  return ReadChecked(sub, path, index + 1, full_name, target);
}

Error LoadModuleChecked(torch::serialize::InputArchive& archive, torch::nn::Module& module,
                        const std::string& prefix) {
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    if (Error e = ReadChecked(archive, SplitName(item.key()), 0, prefix + item.key(),
                              item.value())) {
      return e;
    }
  }
  for (auto& item : module.named_buffers(/*recurse=*/true)) {
    if (Error e = ReadChecked(archive, SplitName(item.key()), 0, prefix + item.key(),
                              item.value())) {
      return e;
    }
  }
  return std::nullopt;
}

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

std::string ModelOptionsFingerprint(const ModelOptions& o) {
  std::ostringstream out;
  out << "latent=" << o.latent_size << ",enc_ch=" << o.encoder_channels
      << ",enc_hid=" << o.encoder_hidden << ",trans_hid=" << o.transition_hidden
      << ",dec_ch=" << o.decoder_channels << ",dec_hid=" << o.decoder_hidden
      << ",head_hid=" << o.head_hidden << ",proprio=" << o.proprio_size
      << ",action=" << o.action_size << ",image=" << o.image_channels << "x" << o.image_size
      << ",tasks=" << o.num_tasks << ",q=" << (o.with_q_critic ? 1 : 0);
  // Named only when not the paper's average pooling, so earlier runs keep their fingerprint.
  if (o.encoder_pooling == EncoderPooling::kSpatialSoftmax) out << ",pool=spatial_softmax";
  if (o.encoder_pooling == EncoderPooling::kFlatten) out << ",pool=flatten";
  return out.str();
}

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
  const int64_t n = std::max(1, options_.loss.imagination_horizon);
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

void LearnerCore::WriteTrainingState(torch::serialize::OutputArchive& archive) const {
  torch::serialize::OutputArchive model_archive, model_opt, policy_opt;
  model_->save(model_archive);
  model_optimizer_->save(model_opt);
  policy_optimizer_->save(policy_opt);
  archive.write("model", model_archive);
  archive.write("model_optimizer", model_opt);
  archive.write("policy_optimizer", policy_opt);
  archive.write("counters",
                at::tensor(std::vector<int64_t>{step_, target_updates_, consecutive_nonfinite_}));
}

Error LearnerCore::ReadTrainingState(torch::serialize::InputArchive& archive,
                                     const std::string& what) {
  torch::serialize::InputArchive model_archive;
  archive.read("model", model_archive);
  if (Error e = LoadModuleChecked(model_archive, *model_, "")) return what + ": " + *e;
  torch::serialize::InputArchive model_opt, policy_opt;
  archive.read("model_optimizer", model_opt);
  archive.read("policy_optimizer", policy_opt);
  model_optimizer_->load(model_opt);
  policy_optimizer_->load(policy_opt);
  at::Tensor counters;
  archive.read("counters", counters);
  counters = counters.to(at::kCPU);
  step_ = counters[0].item<int64_t>();
  target_updates_ = counters[1].item<int64_t>();
  consecutive_nonfinite_ = static_cast<int>(counters[2].item<int64_t>());
  return std::nullopt;
}

Error LearnerCore::BroadcastTrainingState(Collective& collective) {
  try {
    // Rank 0's state as one archive in memory: its size first, then its bytes.
    std::string bytes;
    if (collective.rank() == 0) {
      torch::serialize::OutputArchive archive;
      WriteTrainingState(archive);
      std::ostringstream out;
      archive.save_to(out);
      bytes = out.str();
    }
    at::Tensor size = at::full({1}, static_cast<int64_t>(bytes.size()), at::kLong);
    if (Error e = collective.Broadcast(size, /*root=*/0)) return "training-state size: " + *e;
    const int64_t n = size.item<int64_t>();
    at::Tensor buffer = at::empty({n}, at::kByte);
    if (collective.rank() == 0) std::memcpy(buffer.data_ptr(), bytes.data(), bytes.size());
    if (Error e = collective.Broadcast(buffer, /*root=*/0)) return "training state: " + *e;
    if (collective.rank() == 0) return std::nullopt;
    std::istringstream in(std::string(static_cast<const char*>(buffer.data_ptr()), n));
    torch::serialize::InputArchive archive;
    archive.load_from(in, device_);
    return ReadTrainingState(archive, "rank 0's training state");
  } catch (const std::exception& e) {
    return std::string("training-state broadcast failed: ") + e.what();
  }
}

Error LearnerCore::SaveCheckpoint(const std::string& path, const std::string& metadata) const {
  const std::string temp = path + ".tmp";
  try {
    torch::serialize::OutputArchive archive;
    WriteTrainingState(archive);
    archive.write("noise_rng", noise_generator_.get_state());
    archive.write("global_rng", at::detail::getDefaultCPUGenerator().get_state());
    archive.write("metadata", c10::IValue(metadata));
    archive.write("fingerprint", c10::IValue(ModelOptionsFingerprint(options_.model)));
    archive.save_to(temp);
  } catch (const std::exception& e) {
    std::remove(temp.c_str());
    return "cannot write checkpoint " + temp + ": " + e.what();
  }
  // The old checkpoint is replaced only by one that is on the disk and reads back whole:
  // after a crash or power loss the path holds either checkpoint, never a truncated one
  // that would make every restart of the learner fail to resume.
  if (!FsyncPath(temp)) {
    std::remove(temp.c_str());
    return "cannot flush checkpoint " + temp + " to the disk";
  }
  try {
    torch::serialize::InputArchive check;
    check.load_from(temp, at::kCPU);
    at::Tensor counters;
    check.read("counters", counters);
    if (counters.numel() < 1 || counters[0].item<int64_t>() != step_) {
      std::remove(temp.c_str());
      return "checkpoint " + temp + " read back with the wrong step";
    }
  } catch (const std::exception& e) {
    std::remove(temp.c_str());
    return "checkpoint " + temp + " does not read back: " + e.what();
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return "cannot rename checkpoint " + temp + " to " + path;
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!FsyncPath(parent.empty() ? std::string(".") : parent.string())) {
    return "cannot flush the directory of checkpoint " + path;
  }
  return std::nullopt;
}

Result<std::string> LearnerCore::LoadCheckpoint(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device_);
    c10::IValue fingerprint, metadata;
    archive.read("fingerprint", fingerprint);
    const std::string expected = ModelOptionsFingerprint(options_.model);
    if (fingerprint.toStringRef() != expected) {
      return Result<std::string>::Failure("checkpoint " + path + " holds networks of sizes " +
                                          fingerprint.toStringRef() + ", this learner has " +
                                          expected);
    }
    if (Error e = ReadTrainingState(archive, path)) return Result<std::string>::Failure(*e);
    at::Tensor noise_rng, global_rng;
    archive.read("noise_rng", noise_rng);
    archive.read("global_rng", global_rng);
    noise_generator_.set_state(noise_rng.to(at::kCPU));
    at::Generator global = at::detail::getDefaultCPUGenerator();  // Shares the generator.
    global.set_state(global_rng.to(at::kCPU));
    archive.read("metadata", metadata);
    return metadata.toStringRef();
  } catch (const std::exception& e) {
    return Result<std::string>::Failure("cannot load checkpoint " + path + ": " + e.what());
  }
}

Error LearnerCore::LoadTransfer(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device_);
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    const std::pair<const char*, torch::nn::Module*> parts[] = {
        {"encoder", model_->encoder.get()},
        {"transition", model_->transition.get()},
        {"decoder", model_->decoder.get()}};
    for (const auto& [name, module] : parts) {
      torch::serialize::InputArchive sub;
      if (!model_archive.try_read(name, sub)) {
        return "transfer checkpoint " + path + " has no '" + name + "'";
      }
      if (Error e = LoadModuleChecked(sub, *module, std::string(name) + ".")) {
        return "transfer from " + path + ": " + *e;
      }
    }
    model_->UpdateTarget();
    return std::nullopt;
  } catch (const std::exception& e) {
    return "cannot load transfer checkpoint " + path + ": " + e.what();
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
