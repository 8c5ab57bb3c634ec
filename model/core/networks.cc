#include "model/core/networks.h"

#include <cmath>
#include <stdexcept>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/utils.h>

namespace ivg::model {
namespace {

namespace F = torch::nn::functional;

// 0.5 * log(2 pi), the normal density's constant per dimension.
constexpr double kHalfLogTwoPi = 0.91893853320467274178;

torch::nn::Conv2d Conv(int in, int out, int kernel, int stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

// Linear, ELU, Linear, ELU (the "2-layer MLP" of appendix E).
torch::nn::Sequential Mlp2(int in, int hidden, int out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ELU(),
                               torch::nn::Linear(hidden, out), torch::nn::ELU());
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(int channels)
    : down_(register_module("down", Conv(channels, channels, 3, 2))),
      conv1_(register_module("conv1", Conv(channels, channels, 3, 1))),
      conv2_(register_module("conv2", Conv(channels, channels, 3, 1))) {}

// ELU in place on tensors nothing else holds: a convolution's backward needs its input and
// weight, not its output, and ELU's backward reads its own result, so autograd allows it and
// each activation map is written once instead of twice.
namespace {
torch::Tensor EluInPlace(torch::Tensor x) {
  return F::elu(x, F::ELUFuncOptions().inplace(true));
}
}  // namespace

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = EluInPlace(down_->forward(x));
  return EluInPlace(y + conv2_->forward(EluInPlace(conv1_->forward(y))));
}

torch::Tensor SpatialSoftArgmax(const torch::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  torch::Tensor p = torch::softmax(x.reshape({n, c, h * w}), -1).view({n, c, h, w});
  torch::Tensor ys = torch::linspace(-1.0, 1.0, h, x.options());
  torch::Tensor xs = torch::linspace(-1.0, 1.0, w, x.options());
  torch::Tensor expected_x = (p.sum(2) * xs).sum(2);  // Marginal over rows, then E[x].
  torch::Tensor expected_y = (p.sum(3) * ys).sum(2);
  return torch::cat({expected_x, expected_y}, 1);
}

int ImageFeatureSize(const ModelOptions& o) {
  if (!o.has_images()) return 0;
  const int side = o.image_size / 8;  // Three stride-2 blocks.
  switch (o.encoder_pooling) {
    case EncoderPooling::kSpatialSoftmax: return 2 * o.encoder_channels;
    case EncoderPooling::kFlatten: return o.encoder_channels * side * side;
    case EncoderPooling::kAverage: break;
  }
  return o.encoder_channels;
}

// From state (no images) the conv tower is not built: the proprio MLP and the fusion MLP are
// the encoder's per-frame part.
EncoderImpl::EncoderImpl(const ModelOptions& o)
    : pooling_(o.encoder_pooling),
      conv0_(o.has_images()
                 ? register_module("conv0", Conv(o.image_channels, o.encoder_channels, 3, 1))
                 : torch::nn::Conv2d(nullptr)),
      block1_(o.has_images() ? register_module("block1", ResidualBlock(o.encoder_channels))
                             : ResidualBlock(nullptr)),
      block2_(o.has_images() ? register_module("block2", ResidualBlock(o.encoder_channels))
                             : ResidualBlock(nullptr)),
      block3_(o.has_images() ? register_module("block3", ResidualBlock(o.encoder_channels))
                             : ResidualBlock(nullptr)),
      proprio_mlp_(register_module("proprio_mlp",
                                   Mlp2(o.proprio_size, o.encoder_hidden, o.encoder_hidden))),
      fusion_mlp_(register_module(
          "fusion_mlp",
          torch::nn::Sequential(torch::nn::Linear(ImageFeatureSize(o) + o.encoder_hidden,
                                                  o.encoder_hidden),
                                torch::nn::ELU(),
                                torch::nn::Linear(o.encoder_hidden, o.encoder_hidden),
                                torch::nn::ELU(),
                                torch::nn::Linear(o.encoder_hidden, o.encoder_hidden),
                                torch::nn::ELU()))),
      lstm_(register_module(
          "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(o.encoder_hidden, o.latent_size)
                                      .batch_first(true)))) {}

torch::Tensor EncoderImpl::forward(const torch::Tensor& images, const torch::Tensor& proprio) {
  return Integrate(EncodeFrames(images, proprio));
}

torch::Tensor EncoderImpl::EncodeFrames(const torch::Tensor& images,
                                        const torch::Tensor& proprio) {
  const int64_t b = proprio.size(0), t = proprio.size(1);
  torch::Tensor p = proprio_mlp_->forward(proprio.flatten(0, 1));
  if (conv0_.is_empty()) return fusion_mlp_->forward(p).view({b, t, -1});  // from state
  torch::Tensor x = ImageFeatures(images.flatten(0, 1));
  return fusion_mlp_->forward(torch::cat({x, p}, 1)).view({b, t, -1});
}

torch::Tensor EncoderImpl::ImageFeatures(const torch::Tensor& frames) {
  // Channels-last (NHWC): oneDNN's convolutions run these few-channel maps faster that way,
  // forward and backward (bench/README.md, "Learner"); the layout follows through the blocks.
  torch::Tensor x = frames.contiguous(at::MemoryFormat::ChannelsLast);
  x = EluInPlace(conv0_->forward(x));
  x = block3_->forward(block2_->forward(block1_->forward(x)));
  switch (pooling_) {
    case EncoderPooling::kSpatialSoftmax: return SpatialSoftArgmax(x);
    case EncoderPooling::kFlatten: return x.flatten(1);
    case EncoderPooling::kAverage: break;
  }
  return x.mean({2, 3});
}

torch::Tensor EncoderImpl::Integrate(const torch::Tensor& features) {
  return std::get<0>(lstm_->forward(features));
}

torch::Tensor EncoderImpl::IntegrateWindows(const torch::Tensor& features, int64_t window) {
  const int64_t b = features.size(0), t = features.size(1), f = features.size(2);
  const int64_t windows = t - window + 1;
  // unfold(1, window, 1): [B, windows, F, window], the window's steps last.
  const torch::Tensor stacked =
      features.unfold(1, window, 1).transpose(2, 3).reshape({b * windows, window, f});
  return Integrate(stacked).select(1, window - 1).view({b, windows, -1});
}

TransitionImpl::TransitionImpl(const ModelOptions& o)
    : latent_mlp_(register_module(
          "latent_mlp", Mlp2(o.latent_size, o.transition_hidden, o.transition_hidden))),
      action_mlp_(register_module(
          "action_mlp", Mlp2(o.action_size, o.transition_hidden, o.transition_hidden))),
      joint_mlp_(register_module(
          "joint_mlp",
          torch::nn::Sequential(torch::nn::Linear(2 * o.transition_hidden, o.transition_hidden),
                                torch::nn::ELU(),
                                torch::nn::Linear(o.transition_hidden, o.latent_size)))),
      // [choice] The affine scale starts at 1 and the shift at 0.
      scale_(register_parameter("scale", torch::ones({o.latent_size}))),
      shift_(register_parameter("shift", torch::zeros({o.latent_size}))) {}

torch::Tensor TransitionImpl::forward(const torch::Tensor& h, const torch::Tensor& a) {
  torch::Tensor delta =
      joint_mlp_->forward(torch::cat({latent_mlp_->forward(h), action_mlp_->forward(a)}, -1));
  return h + scale_ * torch::tanh(delta) + shift_;
}

torch::Tensor BilinearAdditiveUpsample(const torch::Tensor& x) {
  // Bilinear interpolation is linear and acts on each channel alone, so summing each group
  // of 4 channels first and interpolating the sum is the same function as interpolating
  // every channel and summing after (Wojna et al.'s definition), with a quarter of the
  // interpolation work forward and backward: the decoder's costliest op after its convs.
  const int64_t n = x.size(0), c = x.size(1), s = x.size(2);
  return F::interpolate(x.view({n, c / 4, 4, s, s}).sum(2),
                        F::InterpolateFuncOptions()
                            .scale_factor(std::vector<double>{2.0, 2.0})
                            .mode(torch::kBilinear)
                            .align_corners(false));
}

DecoderImpl::DecoderImpl(const ModelOptions& o)
    : channels_(o.decoder_channels),
      image_channels_(o.image_channels),
      proprio_mlp_(register_module(
          "proprio_mlp",
          torch::nn::Sequential(torch::nn::Linear(o.latent_size, o.decoder_hidden),
                                torch::nn::ELU(),
                                torch::nn::Linear(o.decoder_hidden, o.proprio_size)))) {
  if (!o.has_images()) return;  // From state the decoder reconstructs the state vector alone.
  seed_ = register_module("seed", torch::nn::Linear(o.latent_size, o.decoder_channels * 8 * 8));
  stage1_ = register_module("stage1", Conv(o.decoder_channels / 4, o.decoder_channels, 3, 1));
  stage2_ = register_module("stage2", Conv(o.decoder_channels / 4, o.decoder_channels, 3, 1));
  stage3_ = register_module("stage3", Conv(o.decoder_channels / 4, o.decoder_channels, 3, 1));
  out_ = register_module("out", Conv(o.decoder_channels, o.image_channels, 1, 1));
}

std::pair<torch::Tensor, torch::Tensor> DecoderImpl::forward(const torch::Tensor& h) {
  auto lead = h.sizes().vec();
  lead.pop_back();
  if (seed_.is_empty()) {
    // No image path: an empty image [.., C, 0, 0] beside the reconstructed state vector.
    auto image_shape = lead;
    image_shape.insert(image_shape.end(), {image_channels_, 0, 0});
    return {at::empty(image_shape, h.options()), proprio_mlp_->forward(h)};
  }
  torch::Tensor flat = h.reshape({-1, h.size(-1)});
  // Channels-last for the convolutions, as in the encoder.
  torch::Tensor x = F::elu(seed_->forward(flat))
                        .view({-1, channels_, 8, 8})
                        .contiguous(at::MemoryFormat::ChannelsLast);
  x = EluInPlace(stage1_->forward(BilinearAdditiveUpsample(x)));
  x = EluInPlace(stage2_->forward(BilinearAdditiveUpsample(x)));
  x = EluInPlace(stage3_->forward(BilinearAdditiveUpsample(x)));
  x = out_->forward(x);
  auto image_shape = lead;
  for (int64_t d : x.sizes().slice(1)) image_shape.push_back(d);
  torch::Tensor proprio = proprio_mlp_->forward(h);
  return {x.view(image_shape), proprio};
}

NormedMlpImpl::NormedMlpImpl(int in, int hidden, int out)
    : fc1_(register_module("fc1", torch::nn::Linear(in, hidden))),
      fc2_(register_module("fc2", torch::nn::Linear(hidden, hidden))),
      fc3_(register_module("fc3", torch::nn::Linear(hidden, out))),
      norm_(register_module("norm",
                            torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})))) {}

void NormedMlpImpl::ZeroOutputLayer() {
  torch::NoGradGuard no_grad;
  torch::nn::init::zeros_(fc3_->weight);
  torch::nn::init::zeros_(fc3_->bias);
}

torch::Tensor NormedMlpImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = F::elu(norm_->forward(fc1_->forward(x)));
  return fc3_->forward(F::elu(fc2_->forward(y)));
}

PolicyImpl::PolicyImpl(const ModelOptions& o)
    : min_log_std_(o.policy_min_log_std),
      max_log_std_(o.policy_max_log_std),
      fc1_(register_module("fc1", torch::nn::Linear(o.latent_size + o.num_tasks, o.head_hidden))),
      fc2_(register_module("fc2", torch::nn::Linear(o.head_hidden, o.head_hidden))),
      fc3_(register_module("fc3", torch::nn::Linear(o.head_hidden, 2 * o.action_size))) {
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(fc3_->weight, 0.0, o.policy_last_layer_init_scale);
  torch::nn::init::zeros_(fc3_->bias);
}

std::pair<torch::Tensor, torch::Tensor> PolicyImpl::forward(const torch::Tensor& h,
                                                            const torch::Tensor& task_onehot) {
  torch::Tensor x = F::elu(fc1_->forward(torch::cat({h, task_onehot}, -1)));
  x = fc3_->forward(F::elu(fc2_->forward(x)));
  auto parts = x.chunk(2, -1);
  return {parts[0], parts[1].clamp(min_log_std_, max_log_std_)};
}

torch::Tensor GaussianLogProb(const torch::Tensor& a, const torch::Tensor& mean,
                              const torch::Tensor& log_std) {
  torch::Tensor z = (a - mean) * torch::exp(-log_std);
  return (-0.5 * z * z - log_std - kHalfLogTwoPi).sum(-1);
}

torch::Tensor StandardNormalLogProb(const torch::Tensor& a) {
  return (-0.5 * a * a - kHalfLogTwoPi).sum(-1);
}

torch::Tensor SquashAction(const torch::Tensor& u, const ModelOptions& options) {
  return options.tanh_squashed_policy ? torch::tanh(u) : u;
}

IvgModelImpl::IvgModelImpl(const ModelOptions& o) : options_(o) {
  if (o.decoder_channels % 4 != 0) {
    throw std::invalid_argument("decoder_channels must be divisible by 4, got " +
                                std::to_string(o.decoder_channels));
  }
  if (o.image_size != 64 && o.has_images()) {
    throw std::invalid_argument("the decoder produces 64x64 images; image_size is " +
                                std::to_string(o.image_size) + " (0: from state, no images)");
  }
  encoder = register_module("encoder", Encoder(o));
  transition = register_module("transition", Transition(o));
  decoder = register_module("decoder", Decoder(o));
  value = register_module("value", ValueHead(o));
  reward = register_module("reward", RewardHead(o));
  if (o.with_q_critic) {
    q = register_module("q", NormedMlp(o.latent_size + o.action_size + o.num_tasks,
                                       o.head_hidden, 1));
  }
  if (o.zero_init_heads) {
    value->ZeroOutputLayer();
    reward->ZeroOutputLayer();
    if (q) q->ZeroOutputLayer();
  }
  policy = register_module("policy", Policy(o));
  target_encoder = register_module("target_encoder", Encoder(o));
  target_value = register_module("target_value", ValueHead(o));
  for (auto& p : target_encoder->parameters()) p.set_requires_grad(false);
  for (auto& p : target_value->parameters()) p.set_requires_grad(false);
  UpdateTarget();
}

bool IsActorParameter(const std::string& name, PolicyAlgorithm algorithm) {
  auto starts_with = [&](const char* prefix) { return name.rfind(prefix, 0) == 0; };
  if (starts_with("encoder.") || starts_with("policy.")) return true;
  return algorithm == PolicyAlgorithm::kCem &&
         (starts_with("transition.") || starts_with("reward.") || starts_with("value."));
}

NormedMlp ValueHead(const ModelOptions& o) {
  return NormedMlp(o.latent_size + o.num_tasks, o.head_hidden, 1);
}

NormedMlp RewardHead(const ModelOptions& o) {
  return NormedMlp(o.latent_size, o.head_hidden, o.num_tasks);
}

torch::Tensor HeadValue(NormedMlpImpl& value_head, const torch::Tensor& h,
                        const torch::Tensor& task_onehot) {
  return value_head.forward(torch::cat({h, task_onehot}, -1)).squeeze(-1);
}

torch::Tensor HeadReward(NormedMlpImpl& reward_head, const torch::Tensor& h,
                         const torch::Tensor& task_ids) {
  return reward_head.forward(h).gather(1, task_ids.unsqueeze(1)).squeeze(1);
}

torch::Tensor IvgModelImpl::Value(const torch::Tensor& h, const torch::Tensor& task_onehot) {
  return HeadValue(*value, h, task_onehot);
}

torch::Tensor IvgModelImpl::TargetValue(const torch::Tensor& h,
                                        const torch::Tensor& task_onehot) {
  return HeadValue(*target_value, h, task_onehot);
}

torch::Tensor IvgModelImpl::Q(const torch::Tensor& h, const torch::Tensor& a,
                              const torch::Tensor& task_onehot) {
  return q->forward(torch::cat({h, a, task_onehot}, -1)).squeeze(-1);
}

std::vector<torch::Tensor> IvgModelImpl::ModelParameters() const {
  std::vector<torch::Tensor> params;
  for (const torch::nn::Module* m :
       {static_cast<const torch::nn::Module*>(encoder.get()),
        static_cast<const torch::nn::Module*>(transition.get()),
        static_cast<const torch::nn::Module*>(decoder.get()),
        static_cast<const torch::nn::Module*>(value.get()),
        static_cast<const torch::nn::Module*>(reward.get())}) {
    for (const auto& p : m->parameters()) params.push_back(p);
  }
  if (q) {
    for (const auto& p : q->parameters()) params.push_back(p);
  }
  return params;
}

std::vector<torch::Tensor> IvgModelImpl::PolicyParameters() const {
  return policy->parameters();
}

void IvgModelImpl::UpdateTarget() {
  torch::NoGradGuard no_grad;
  auto copy = [](const torch::nn::Module& from, torch::nn::Module& to) {
    auto src = from.named_parameters();
    for (auto& dst : to.named_parameters()) dst.value().copy_(src[dst.key()]);
    auto src_buffers = from.named_buffers();
    for (auto& dst : to.named_buffers()) dst.value().copy_(src_buffers[dst.key()]);
  };
  copy(*encoder, *target_encoder);
  copy(*value, *target_value);
}

}  // namespace ivg::model
