#include "model/policy/policy_runner.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <tuple>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/utils.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_codec.h"
#include "model/config/model_config.h"
#include "model/core/cem.h"
#include "model/core/losses.h"
#include "model/core/networks.h"
#include "model/core/proprio_scaling.h"

namespace ivg::model {
namespace {

// Registers the networks under the same names the learner's model uses, so the published
// names ("encoder.conv0.weight", "policy.fc3.bias") map one to one: the encoder and the
// policy, and for CEM (which plans on the model) the transition, reward and value heads.
struct ActorNetworksImpl : torch::nn::Module {
  ActorNetworksImpl(const model::ModelOptions& options, bool planning)
      : encoder(register_module("encoder", model::Encoder(options))),
        policy(register_module("policy", model::Policy(options))) {
    if (!planning) return;
    transition = register_module("transition", model::Transition(options));
    value = register_module("value", model::ValueHead(options));
    reward = register_module("reward", model::RewardHead(options));
  }
  model::Encoder encoder;
  model::Policy policy;
  model::Transition transition{nullptr};
  model::NormedMlp value{nullptr}, reward{nullptr};
};
TORCH_MODULE(ActorNetworks);

}  // namespace

struct PolicyRunner::Impl {
  model::ModelOptions model;
  // Set for CEM runs: actions come from the planner, not from the policy head.
  bool planning = false;
  model::CemOptions cem;
  double gamma = 0.99;
  double value_scale = 1.0;
  model::ProprioBounds proprio_bounds;
  int history = 3;
  // Factor on the policy's std for stochastic actions (SetExplorationScale).
  double exploration_scale = 1.0;
  mutable absl::Mutex mutex;
  ActorNetworks networks ABSL_GUARDED_BY(mutex){nullptr};
  int64_t version ABSL_GUARDED_BY(mutex) = -1;
  // Per-frame features of the current episode's last H frames (ActOnNewestFrame only).
  std::deque<at::Tensor> feature_window;

  // Checks the frames and packs them as [1, T, C, S, S] float in [0, 1] and [1, T, P] scaled
  // proprioception.
  absl::StatusOr<std::pair<at::Tensor, at::Tensor>> PackFrames(
      absl::Span<const FrameView> frames) const;
  absl::Status CheckTask(int task_id) const;
  // Policy head on the LSTM's latest latent over `features` [1, T, F].
  absl::StatusOr<PolicyOutput> ActOnFeatures(const at::Tensor& features, int task_id,
                                             bool deterministic, uint64_t seed) const
      ABSL_SHARED_LOCKS_REQUIRED(mutex);
};

absl::StatusOr<std::unique_ptr<PolicyRunner>> PolicyRunner::Create(const ExperimentConfig& config,
                                                                   int threads) {
  IVG_ASSIGN_OR_RETURN(model::CoreOptions core, model::CoreOptionsFromConfig(config));
  auto impl = std::make_unique<Impl>();
  impl->model = core.model;
  impl->planning = core.loss.policy_algorithm == model::PolicyAlgorithm::kCem;
  impl->cem = core.loss.cem;
  impl->gamma = core.loss.gamma;
  impl->value_scale = model::ValueScale(core.loss);
  impl->proprio_bounds = model::ProprioBoundsFromConfig(config);
  impl->history = config.learner().burn_in();
  if (threads > 0) torch::set_num_threads(threads);
  try {
    absl::MutexLock lock(&impl->mutex);
    impl->networks = ActorNetworks(impl->model, impl->planning);
    impl->networks->eval();
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("building the actor networks: ", error.what()));
  }
  return std::unique_ptr<PolicyRunner>(new PolicyRunner(std::move(impl)));
}

PolicyRunner::PolicyRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyRunner::~PolicyRunner() = default;

void PolicyRunner::SetExplorationScale(double scale) { impl_->exploration_scale = scale; }
double PolicyRunner::exploration_scale() const { return impl_->exploration_scale; }

int PolicyRunner::history_length() const { return impl_->history; }
int PolicyRunner::image_size() const { return impl_->model.image_size; }

int64_t PolicyRunner::version() const {
  absl::ReaderMutexLock lock(&impl_->mutex);
  return impl_->version;
}

absl::Status PolicyRunner::Load(const NamedTensors& actor_params, int64_t version) {
  IVG_ASSIGN_OR_RETURN(NamedTorchTensors decoded, NamedTensorsFromProto(actor_params));
  std::map<std::string, at::Tensor> by_name(decoded.begin(), decoded.end());
  absl::MutexLock lock(&impl_->mutex);
  // Check everything first, then copy: a bad set leaves the running policy untouched.
  auto parameters = impl_->networks->named_parameters(/*recurse=*/true);
  for (const auto& item : parameters) {
    auto it = by_name.find(item.key());
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter set version ", version, " lacks tensor '", item.key(), "'"));
    }
    if (!it->second.sizes().equals(item.value().sizes()) ||
        it->second.scalar_type() != item.value().scalar_type()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", item.key(), "' has shape ", c10::str(it->second.sizes()), " ",
          c10::toString(it->second.scalar_type()), ", the actor's network expects ",
          c10::str(item.value().sizes()), " ", c10::toString(item.value().scalar_type()),
          " (do learner and actor use the same model config?)"));
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& item : parameters) item.value().copy_(by_name.at(item.key()));
  impl_->version = version;
  return absl::OkStatus();
}

absl::Status PolicyRunner::Impl::CheckTask(int task_id) const {
  if (task_id < 0 || task_id >= model.num_tasks) {
    return absl::InvalidArgumentError(
        absl::StrCat("task id ", task_id, " is outside [0, ", model.num_tasks, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<at::Tensor, at::Tensor>> PolicyRunner::Impl::PackFrames(
    absl::Span<const FrameView> frames) const {
  const int count = static_cast<int>(frames.size());
  const size_t image_bytes =
      static_cast<size_t>(model.image_channels) * model.image_size * model.image_size;
  at::Tensor images =
      at::empty({1, count, model.image_channels, model.image_size, model.image_size}, at::kByte);
  at::Tensor proprio = at::empty({1, count, model.proprio_size}, at::kFloat);
  for (int t = 0; t < count; ++t) {
    const FrameView& frame = frames[t];
    if (frame.image.size() != image_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "frame ", t, " image has ", frame.image.size(), " bytes; expected ", image_bytes, " (",
          model.image_channels, "x", model.image_size, "x", model.image_size, " uint8)"));
    }
    if (frame.proprio.size() != static_cast<size_t>(model.proprio_size)) {
      return absl::InvalidArgumentError(absl::StrCat("frame ", t, " proprio has ",
                                                     frame.proprio.size(), " values; expected ",
                                                     model.proprio_size));
    }
    float* row = proprio.data_ptr<float>() + static_cast<int64_t>(t) * model.proprio_size;
    for (int i = 0; i < model.proprio_size; ++i) {
      if (!std::isfinite(frame.proprio[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("frame ", t, " proprio[", i, "] is not finite"));
      }
      row[i] = frame.proprio[i];
    }
    std::memcpy(images.data_ptr<uint8_t>() + t * image_bytes, frame.image.data(), image_bytes);
  }
  // The learner's batch conversion scales sampled proprio with the same function.
  return std::make_pair(images.to(at::kFloat) / 255.0,
                        model::ScaleProprio(proprio, proprio_bounds));
}

absl::StatusOr<PolicyOutput> PolicyRunner::Impl::ActOnFeatures(const at::Tensor& features,
                                                               int task_id, bool deterministic,
                                                               uint64_t seed) const {
  // Forward passes do not modify the modules; the holder copy (shared ownership) only
  // provides the non-const access LibTorch's forward() signatures ask for.
  ActorNetworks modules = networks;
  // A fresh LSTM state over the window; the latent is the output at the newest frame.
  const at::Tensor latents = modules->encoder->Integrate(features);
  const at::Tensor h = latents.select(1, latents.size(1) - 1);
  const at::Tensor task =
      at::one_hot(at::full({1}, task_id, at::kLong), model.num_tasks).to(h.scalar_type());
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor mean, log_std;
  if (planning) {
    // The planner's first action and its spread: the behaviour density V-trace reads.
    model::CemPlan plan = model::PlanWithCem(
        model::LearnedPlanningModel(modules->transition, modules->reward, modules->value,
                                    at::full({1}, task_id, at::kLong), model.num_tasks,
                                    cem.trajectories, value_scale),
        h, model.action_size, cem, gamma, generator);
    mean = plan.mean.select(1, 0);
    log_std = plan.std.select(1, 0).log();
  } else {
    std::tie(mean, log_std) = modules->policy->forward(h, task);
  }
  at::Tensor sample = mean;
  if (!deterministic) {
    if (exploration_scale != 1.0) log_std = log_std + std::log(exploration_scale);
    const at::Tensor noise = at::normal(0.0, 1.0, mean.sizes(), generator);
    sample = mean + noise * log_std.exp();
  }
  const at::Tensor log_prob = model::GaussianLogProb(sample, mean, log_std);
  auto copy = [](const at::Tensor& t) {
    const at::Tensor flat = t.reshape({-1}).to(at::kFloat).contiguous();
    return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
  };
  PolicyOutput output;
  output.action = copy(model::SquashAction(sample, model));
  output.sample = copy(sample);
  output.mean = copy(mean);
  output.log_std = copy(log_std);
  output.log_prob = log_prob.item<float>();
  output.latent = copy(h);
  return output;
}

absl::StatusOr<PolicyOutput> PolicyRunner::Act(absl::Span<const FrameView> history, int task_id,
                                               bool deterministic, uint64_t seed) const {
  const int frames = static_cast<int>(history.size());
  if (frames < 1 || frames > impl_->history) {
    return absl::InvalidArgumentError(absl::StrCat("history has ", frames,
                                                   " frames; expected 1 to ", impl_->history));
  }
  IVG_RETURN_IF_ERROR(impl_->CheckTask(task_id));
  IVG_ASSIGN_OR_RETURN(auto packed, impl_->PackFrames(history));
  torch::NoGradGuard no_grad;
  // Readers run concurrently; only Load takes the lock exclusively.
  absl::ReaderMutexLock lock(&impl_->mutex);
  try {
    const at::Tensor features = impl_->networks->encoder->EncodeFrames(packed.first, packed.second);
    return impl_->ActOnFeatures(features, task_id, deterministic, seed);
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("policy inference failed: ", error.what()));
  }
}

void PolicyRunner::StartEpisode() { impl_->feature_window.clear(); }

absl::StatusOr<PolicyOutput> PolicyRunner::ActOnNewestFrame(const FrameView& frame, int task_id,
                                                            bool deterministic, uint64_t seed) {
  IVG_RETURN_IF_ERROR(impl_->CheckTask(task_id));
  IVG_ASSIGN_OR_RETURN(auto packed, impl_->PackFrames(absl::MakeConstSpan(&frame, 1)));
  torch::NoGradGuard no_grad;
  absl::ReaderMutexLock lock(&impl_->mutex);
  try {
    impl_->feature_window.push_back(
        impl_->networks->encoder->EncodeFrames(packed.first, packed.second));
    while (static_cast<int>(impl_->feature_window.size()) > impl_->history) {
      impl_->feature_window.pop_front();
    }
    const at::Tensor features = at::cat(
        std::vector<at::Tensor>(impl_->feature_window.begin(), impl_->feature_window.end()), 1);
    return impl_->ActOnFeatures(features, task_id, deterministic, seed);
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("policy inference failed: ", error.what()));
  }
}

}  // namespace ivg::model
