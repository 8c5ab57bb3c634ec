// The IVG networks (docs/algorithm.md "Networks", paper appendix E). ELU everywhere; sizes come
// from ModelOptions so that tests and a small CPU profile can shrink them.
//
// Tensor layouts: images [B, T, C, S, S] (float in [0, 1]), proprio [B, T, P], latents
// [..., latent], actions [..., A], task one-hots [..., M].
#ifndef IVG_MODEL_CORE_NETWORKS_H_
#define IVG_MODEL_CORE_NETWORKS_H_

#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

#include "model/core/options.h"

namespace ivg::model {

// Conv 3x3 stride 2 down-sampling followed by a two-conv residual branch.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  explicit ResidualBlockImpl(int channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d down_{nullptr}, conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(ResidualBlock);

// f_enc(o_{1:t}) -> h_t: per-frame conv tower + proprio MLP, fused by a 3-layer MLP, then an
// LSTM over time starting from a zero state (each sequence is encoded afresh). From state
// (options.has_images() false) there is no conv tower: the proprio MLP reads the whole state
// vector and the images, [B, T, C, 0, 0], are not read.
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const ModelOptions& options);
  // images [B, T, C, S, S] in [0, 1], proprio [B, T, P] -> latents [B, T, latent].
  // Equals Integrate(EncodeFrames(images, proprio)).
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& proprio);
  // The per-frame part (CNN, proprio MLP, fusion MLP): [B, T, ...] -> features [B, T, F].
  // Frames are independent here, so actors cache these features across a sliding window.
  torch::Tensor EncodeFrames(const torch::Tensor& images, const torch::Tensor& proprio);
  // The conv tower and its pooling alone: frames [N, C, S, S] in [0, 1] -> [N,
  // ImageFeatureSize(options)]. EncodeFrames feeds it to the fusion MLP with the proprio.
  torch::Tensor ImageFeatures(const torch::Tensor& frames);
  // The LSTM over per-frame features from a fresh state: [B, T, F] -> latents [B, T, latent].
  torch::Tensor Integrate(const torch::Tensor& features);
  // What an actor computes at every step that has `window` frames up to it: for each
  // t = window-1 .. T-1, the LSTM from a fresh state over the features of steps
  // t-window+1 .. t, read at t. [B, T, F] -> [B, T - window + 1, latent]; the first row is
  // Integrate(features)[:, window-1]. One LSTM call over all windows as a batch.
  torch::Tensor IntegrateWindows(const torch::Tensor& features, int64_t window);

 private:
  EncoderPooling pooling_;
  torch::nn::Conv2d conv0_{nullptr};
  ResidualBlock block1_{nullptr}, block2_{nullptr}, block3_{nullptr};
  torch::nn::Sequential proprio_mlp_{nullptr};
  torch::nn::Sequential fusion_mlp_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
};
TORCH_MODULE(Encoder);

// Per channel of x [N, C, H, W], the expected position under softmax over the H x W map,
// on a grid from -1 to 1 in each direction: [N, 2C] as (x_1..x_C, y_1..y_C).
torch::Tensor SpatialSoftArgmax(const torch::Tensor& x);

// Features the encoder's conv tower yields per frame for `options` (its pooling, channels and
// image size): C, 2C or C (S/8)^2; 0 from state.
int ImageFeatureSize(const ModelOptions& options);

// f_trans(h, a) -> h + w * tanh(delta(h, a)) + b.
class TransitionImpl : public torch::nn::Module {
 public:
  explicit TransitionImpl(const ModelOptions& options);
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& a);

 private:
  torch::nn::Sequential latent_mlp_{nullptr}, action_mlp_{nullptr}, joint_mlp_{nullptr};
  torch::Tensor scale_, shift_;
};
TORCH_MODULE(Transition);

// f_dec(h) -> (image logits [.., C, 64, 64], proprio [.., P]). Image probabilities are
// sigmoid(logits); the loss uses the logits for a stable BCE. From state (no images) the
// image logits are an empty [.., C, 0, 0] tensor and proprio is the whole state vector.
class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const ModelOptions& options);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& h);

 private:
  int channels_;
  int64_t image_channels_;
  torch::nn::Sequential proprio_mlp_{nullptr};
  torch::nn::Linear seed_{nullptr};
  torch::nn::Conv2d stage1_{nullptr}, stage2_{nullptr}, stage3_{nullptr}, out_{nullptr};
};
TORCH_MODULE(Decoder);

// Bilinear additive upsampling (Wojna et al.): bilinear x2, then each group of 4 consecutive
// channels is summed, so [N, C, S, S] -> [N, C/4, 2S, 2S].
torch::Tensor BilinearAdditiveUpsample(const torch::Tensor& x);

// 3-layer MLP with LayerNorm after the first layer (value, reward and Q heads).
class NormedMlpImpl : public torch::nn::Module {
 public:
  NormedMlpImpl(int in, int hidden, int out);
  torch::Tensor forward(const torch::Tensor& x);
  // Sets the output layer's weights and bias to zero: the MLP outputs 0 for every input
  // until it is trained.
  void ZeroOutputLayer();

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(NormedMlp);

// The value head V(h, task) (input: latent + task one-hot, one output) and the reward head
// r_hat(h') (one output per task), at the sizes of `options`: one definition for the
// learner's model, its target copy and the actors' planner, so their parameters always fit.
NormedMlp ValueHead(const ModelOptions& options);
NormedMlp RewardHead(const ModelOptions& options);
// A value head's output for latents h [.., D] of tasks task_onehot [.., M]: [..].
torch::Tensor HeadValue(NormedMlpImpl& value_head, const torch::Tensor& h,
                        const torch::Tensor& task_onehot);
// A reward head's output for latents after the action h [N, D], each row read at its own
// task's output task_ids [N] (int64): [N].
torch::Tensor HeadReward(NormedMlpImpl& reward_head, const torch::Tensor& h,
                         const torch::Tensor& task_ids);

// pi(a|h, task) = Normal(mu, sigma^2): 3-layer MLP -> [mu, log sigma], last layer near zero.
class PolicyImpl : public torch::nn::Module {
 public:
  explicit PolicyImpl(const ModelOptions& options);
  // Returns (mean, log_std), each [..., A]; log_std is clamped to the configured range.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& h,
                                                  const torch::Tensor& task_onehot);

 private:
  double min_log_std_, max_log_std_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};
TORCH_MODULE(Policy);

// Whether the learner's parameter `name` (as IvgModel names it) is in the actor parameter
// set the parameter server sends to actors, the evaluator and the policy service: the
// encoder and the policy; with CEM, which plans on the model, also the transition and the
// reward and value heads. The target copies are never in it.
bool IsActorParameter(const std::string& name, PolicyAlgorithm algorithm);

// log N(a; mean, exp(log_std)^2), summed over the last dimension.
torch::Tensor GaussianLogProb(const torch::Tensor& a, const torch::Tensor& mean,
                              const torch::Tensor& log_std);
// log N(a; 0, I), summed over the last dimension (the KL prior p).
torch::Tensor StandardNormalLogProb(const torch::Tensor& a);
// The action a policy sample u [.., A] executes: tanh(u) for a tanh-squashed policy
// (options.tanh_squashed_policy), else u itself (the environment clips it to [-1, 1]).
torch::Tensor SquashAction(const torch::Tensor& u, const ModelOptions& options);

// Every network of one learner. phi = encoder, transition, decoder, value, reward (and Q);
// theta = policy. The target network psi is a second encoder + value.
class IvgModelImpl : public torch::nn::Module {
 public:
  explicit IvgModelImpl(const ModelOptions& options);

  const ModelOptions& options() const { return options_; }
  // V(h, task) and r_hat(h') as the heads output them (scaled units when value scaling is on).
  torch::Tensor Value(const torch::Tensor& h, const torch::Tensor& task_onehot);
  torch::Tensor TargetValue(const torch::Tensor& h, const torch::Tensor& task_onehot);
  torch::Tensor Q(const torch::Tensor& h, const torch::Tensor& a,
                  const torch::Tensor& task_onehot);

  // Parameters of phi (model optimiser) and theta (policy optimiser), in a fixed order.
  std::vector<torch::Tensor> ModelParameters() const;
  std::vector<torch::Tensor> PolicyParameters() const;
  // psi <- phi for encoder and value.
  void UpdateTarget();

  Encoder encoder{nullptr};
  Transition transition{nullptr};
  Decoder decoder{nullptr};
  NormedMlp value{nullptr};
  NormedMlp reward{nullptr};
  NormedMlp q{nullptr};  // Only with options.with_q_critic.
  Policy policy{nullptr};
  Encoder target_encoder{nullptr};
  NormedMlp target_value{nullptr};

 private:
  ModelOptions options_;
};
TORCH_MODULE(IvgModel);

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_NETWORKS_H_
