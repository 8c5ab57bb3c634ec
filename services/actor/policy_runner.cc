#include "services/actor/policy_runner.h"

#include <cmath>
#include <cstring>
#include <map>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_codec.h"
#include "services/actor/env/proprio_scaling.h"
#include "services/learner/config_options.h"
#include "services/learner/core/networks.h"

namespace ivg::actor {
namespace {

// Registers the two networks under the same names the learner's model uses, so the
// published names ("encoder.conv0.weight", "policy.fc3.bias") map one to one.
struct ActorNetworksImpl : torch::nn::Module {
  explicit ActorNetworksImpl(const learner::ModelOptions& options)
      : encoder(register_module("encoder", learner::Encoder(options))),
        policy(register_module("policy", learner::Policy(options))) {}
  learner::Encoder encoder;
  learner::Policy policy;
};
TORCH_MODULE(ActorNetworks);

}  // namespace

struct PolicyRunner::Impl {
  learner::ModelOptions model;
  learner::ProprioBounds proprio_bounds;
  int history = 3;
  mutable absl::Mutex mutex;
  ActorNetworks networks ABSL_GUARDED_BY(mutex){nullptr};
  int64_t version ABSL_GUARDED_BY(mutex) = -1;
};

absl::StatusOr<std::unique_ptr<PolicyRunner>> PolicyRunner::Create(const ExperimentConfig& config,
                                                                   int threads) {
  IVG_ASSIGN_OR_RETURN(learner::CoreOptions core, learner::CoreOptionsFromConfig(config));
  auto impl = std::make_unique<Impl>();
  impl->model = core.model;
  impl->proprio_bounds = learner::ProprioBoundsFromConfig(config);
  impl->history = config.learner().burn_in();
  if (threads > 0) torch::set_num_threads(threads);
  try {
    absl::MutexLock lock(&impl->mutex);
    impl->networks = ActorNetworks(impl->model);
    impl->networks->eval();
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("building the actor networks: ", error.what()));
  }
  return std::unique_ptr<PolicyRunner>(new PolicyRunner(std::move(impl)));
}

PolicyRunner::PolicyRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyRunner::~PolicyRunner() = default;

int PolicyRunner::history_length() const { return impl_->history; }
int PolicyRunner::image_size() const { return impl_->model.image_size; }

int64_t PolicyRunner::version() const {
  absl::MutexLock lock(&impl_->mutex);
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

absl::StatusOr<PolicyOutput> PolicyRunner::Act(absl::Span<const FrameView> history, int task_id,
                                               bool deterministic, uint64_t seed) const {
  const learner::ModelOptions& model = impl_->model;
  const int frames = static_cast<int>(history.size());
  if (frames < 1 || frames > impl_->history) {
    return absl::InvalidArgumentError(absl::StrCat("history has ", frames,
                                                   " frames; expected 1 to ", impl_->history));
  }
  if (task_id < 0 || task_id >= model.num_tasks) {
    return absl::InvalidArgumentError(
        absl::StrCat("task id ", task_id, " is outside [0, ", model.num_tasks, ")"));
  }
  const size_t image_bytes =
      static_cast<size_t>(model.image_channels) * model.image_size * model.image_size;
  at::Tensor images = at::empty({1, frames, model.image_channels, model.image_size, model.image_size},
                                at::kByte);
  at::Tensor proprio = at::empty({1, frames, model.proprio_size}, at::kFloat);
  for (int t = 0; t < frames; ++t) {
    const FrameView& frame = history[t];
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
      const learner::ProprioBounds& bounds = impl_->proprio_bounds;
      row[i] = bounds.low.empty() ? frame.proprio[i]
                                  : env::ScaleToUnitRange(frame.proprio[i], bounds.low[i],
                                                          bounds.high[i]);
    }
    std::memcpy(images.data_ptr<uint8_t>() + t * image_bytes, frame.image.data(), image_bytes);
  }
  torch::NoGradGuard no_grad;
  absl::MutexLock lock(&impl_->mutex);
  try {
    const at::Tensor pixels = images.to(at::kFloat) / 255.0;
    // A fresh LSTM state over the window; the latent is the output at the newest frame.
    const at::Tensor latents = impl_->networks->encoder->forward(pixels, proprio);
    const at::Tensor h = latents.select(1, frames - 1);
    const at::Tensor task = at::one_hot(at::full({1}, task_id, at::kLong), model.num_tasks)
                                .to(h.scalar_type());
    auto [mean, log_std] = impl_->networks->policy->forward(h, task);
    at::Tensor action = mean;
    if (!deterministic) {
      auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
      const at::Tensor noise = at::normal(0.0, 1.0, mean.sizes(), generator);
      action = mean + noise * log_std.exp();
    }
    const at::Tensor log_prob = learner::GaussianLogProb(action, mean, log_std);
    PolicyOutput output;
    auto copy = [](const at::Tensor& t) {
      const at::Tensor flat = t.reshape({-1}).to(at::kFloat).contiguous();
      return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
    };
    output.action = copy(action);
    output.mean = copy(mean);
    output.log_std = copy(log_std);
    output.log_prob = log_prob.item<float>();
    return output;
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("policy inference failed: ", error.what()));
  }
}

}  // namespace ivg::actor
