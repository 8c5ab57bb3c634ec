// Plain option structs of the learner core (no LibTorch, no proto): the learner process fills
// them from ModelConfig / LearnerConfig (model/config/model_config.h); tests and the
// benchmark fill them directly. Defaults are the paper's (docs/algorithm.md).
#ifndef IVG_MODEL_CORE_OPTIONS_H_
#define IVG_MODEL_CORE_OPTIONS_H_

#include <cstdint>
#include <string>

namespace ivg::model {

// How the encoder turns the conv tower's last feature map [C, S/8, S/8] into a vector.
// kAverage: the paper's average pooling (C features), which keeps what is in the image but
// hardly where. kSpatialSoftmax: per channel, the expected (x, y) position under a softmax
// over the map (2C features: keypoints, Levine et al. 2016), so where the cube and the
// gripper are is read off directly. kFlatten: the whole map (C (S/8)^2 features).
enum class EncoderPooling { kAverage, kSpatialSoftmax, kFlatten };

struct ModelOptions {
  int latent_size = 128;
  int encoder_channels = 32;
  EncoderPooling encoder_pooling = EncoderPooling::kAverage;
  int encoder_hidden = 256;
  int transition_hidden = 256;
  // Must be divisible by 4 (bilinear additive upsampling sums groups of 4 channels).
  int decoder_channels = 64;
  int decoder_hidden = 256;
  int head_hidden = 256;
  double policy_last_layer_init_scale = 1e-3;
  // Value, reward and Q heads start with a zero output layer (V = r = Q = 0 everywhere).
  bool zero_init_heads = true;
  double policy_min_log_std = -5.0;
  double policy_max_log_std = 2.0;
  // The policy is a Gaussian over pre-squash actions u and executes tanh(u): replay stores u,
  // V-trace and the KL read Gaussian densities of u (the tanh Jacobian cancels in both), and
  // the transition and Q see tanh(u), what the environment executes.
  bool tanh_squashed_policy = false;
  int proprio_size = 17;
  int action_size = 5;
  // Image channels (two RGB cameras) and side; the decoder needs image_size = 8 * 2^3 = 64.
  // image_size 0: observations from state (env.observation OBSERVATION_STATE): no conv tower,
  // no image decoder, batches carry images of [B, L, C, 0, 0] and proprio is the state vector.
  int image_channels = 6;
  int image_size = 64;
  bool has_images() const { return image_size > 0; }
  // M: tasks of the run (one-hot into policy/value/Q, M reward outputs). 1 = single task.
  int num_tasks = 1;
  // Build the Q(h, a) critic (SVG(0) / IVG(0)).
  bool with_q_critic = false;
};

// kIvg: value gradients through imagined rollouts (IVG(N)). kSvg0: the policy trained through
// a Q(h, a) critic (SVG(0); IVG(0) with svg0_model_loss). kPg: likelihood-ratio policy
// gradients of the same imagined objective (the paper's PG baseline, F.5).
// kCem: no parametric policy; actions come from the cross-entropy method on the learned
// model (model/core/cem.h), for acting and as the value targets' target policy.
enum class PolicyAlgorithm { kIvg, kSvg0, kPg, kCem };

// The cross-entropy method's search (F.5: horizon 5, 100 sequences, 10 iterations).
struct CemOptions {
  int horizon = 5;
  int trajectories = 100;
  int iterations = 10;
  int elites = 10;
  // Floor of the refitted per-dimension std: the planner's Gaussian stays a usable behaviour
  // density for V-trace (and keeps exploring) when the elites agree.
  double min_std = 0.05;
};

// Where the value head is fitted (ValueTarget in proto/config.proto): V-trace on the replayed
// open-loop latents (the paper's), lambda-returns on the current policy's imagined rollouts
// (ComputeImaginedValueLoss), or the mean of both losses.
enum class ValueTarget { kVTrace, kImagined, kBoth };

struct LossOptions {
  int burn_in = 3;        // H
  int model_rollout = 5;  // K; sequences hold L = H + K steps.
  int imagination_horizon = 5;  // N
  bool single_horizon = false;
  PolicyAlgorithm policy_algorithm = PolicyAlgorithm::kIvg;
  // SVG(0) only: also train the model loss (decoder, transition, reward head) as an auxiliary
  // signal for the encoder, which makes it the paper's IVG(0). Off: model-free SVG(0), the
  // encoder trained by the value and Q losses alone.
  bool svg0_model_loss = false;
  // PG only: imagined rollouts per start state for the likelihood-ratio estimate (F.5: 100).
  int pg_rollouts = 100;
  // CEM only: the planner's search.
  CemOptions cem;
  // Also train the reward head on the encodings e_{t+1} (beside eq. 5's open-loop g_{t+1}).
  bool reward_loss_on_encodings = false;
  // Decode this many of the K predicted steps per sequence (chosen at random each step) for
  // the reconstruction loss; 0 or >= K decodes all K (the paper's).
  int reconstructed_steps_per_sequence = 0;
  // Weight of w * sum_d max(|mu_d| - 1, 0)^2 (reward units, mean over start states) added to
  // the policy loss; 0 = off.
  double policy_mean_bound_penalty = 0.0;
  // c of the reconstruction BCE's per-pixel weights 1 + c * d / mean(d) (ForegroundPixelWeights);
  // 0 = unweighted.
  double reconstruction_foreground_weight = 0.0;
  // w of w * mean(-log pi(a_t | e_t)) over the batch's replayed actions (BehaviourNll), added
  // to the policy loss: a trust region to the behaviour policy; 0 = off.
  double policy_behaviour_nll_weight = 0.0;
  // The transition and Q see actions clipped to [-1, 1] (what the environment executes).
  bool clip_model_actions = false;
  double gamma = 0.99;
  double alpha_reward = 1.0;
  double beta_value = 1.0;
  double zeta_consistency = 1.0;
  double reconstruction_weight = 1.0;
  bool kl_regularization = true;
  double kl_lambda = 0.01;
  double vtrace_rho_clip = 1.0;
  double vtrace_c_clip = 1.0;
  bool value_loss_importance_weight = false;
  bool scale_value_by_one_minus_gamma = true;
  ValueTarget value_target = ValueTarget::kVTrace;
  double imagined_value_lambda = 0.95;

  int sequence_length() const { return burn_in + model_rollout; }
  // Steps of a sequence at which an actor's latent can be recomputed: those with H frames up
  // to them, t = H-1 .. L-1 (0-based), L - H + 1 = K + 1 of them. The policy's start states,
  // V-trace's log pi and every term on the replayed actions use these steps alone.
  int start_states_per_sequence() const { return model_rollout + 1; }
  // Whether the reconstruction loss decodes a random subset of the K predicted steps.
  bool reconstructs_subset() const {
    return reconstructed_steps_per_sequence > 0 && reconstructed_steps_per_sequence < model_rollout;
  }
  // Imagined steps the policy noise holds per rollout: N, and one for SVG(0)'s N = 0 (its
  // one action at the start state).
  int noise_steps() const { return imagination_horizon > 1 ? imagination_horizon : 1; }
  // Rows of policy noise per start state: one rollout each, pg_rollouts for PG.
  int policy_rollouts_per_start() const {
    return policy_algorithm == PolicyAlgorithm::kPg ? pg_rollouts : 1;
  }
};

// What a run's policy algorithm is called in the paper: IVG(N), SVG(0), IVG(0) (SVG(0) with
// the model loss) or PG(N). Metrics and progress lines label runs with it.
inline std::string PolicyAlgorithmLabel(const LossOptions& o) {
  switch (o.policy_algorithm) {
    case PolicyAlgorithm::kSvg0: return o.svg0_model_loss ? "IVG(0)" : "SVG(0)";
    case PolicyAlgorithm::kPg: return "PG(" + std::to_string(o.imagination_horizon) + ")";
    case PolicyAlgorithm::kCem: return "CEM(" + std::to_string(o.cem.horizon) + ")";
    case PolicyAlgorithm::kIvg: break;
  }
  return "IVG(" + std::to_string(o.imagination_horizon) + ")";
}

struct OptimizerOptions {
  double model_learning_rate = 5e-5;
  double policy_learning_rate = 5e-5;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  // Gradient-norm clipping per optimiser (after averaging across learners); 0 disables.
  double max_grad_norm = 0.0;
  int target_update_period = 100;  // C
  int max_consecutive_nonfinite_steps = 10;
};

struct CoreOptions {
  ModelOptions model;
  LossOptions loss;
  OptimizerOptions optimizer;
  int64_t seed = 1;
  // Which synchronous learner this core is (its rank). Every rank builds the same networks
  // from `seed`, but each draws its own policy noise: ranks that drew the same epsilon would
  // average two copies of one value-gradient sample instead of two samples.
  int64_t noise_stream = 0;
  // Use CUDA when LibTorch has it and a device is present.
  bool use_cuda_if_available = true;
  // Parameters and arithmetic in float64 (finite-difference tests); float32 otherwise.
  bool double_precision = false;
};

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_OPTIONS_H_
