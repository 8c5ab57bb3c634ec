// The IVG losses (docs/algorithm.md "Model loss" and "Policy objective").
#ifndef IVG_MODEL_CORE_LOSSES_H_
#define IVG_MODEL_CORE_LOSSES_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/core/batch.h"
#include "model/core/networks.h"
#include "model/core/options.h"

namespace ivg::model {

// V-trace targets (Espeholt et al. 2018) over a window of T steps, per row:
//   delta_i = rho_i (r_i + gamma u_{i+1} - u_i),  rho_i = min(rho_clip, exp(log_ratio_i)),
//   v_t = u_t + sum_{i=t}^{T-2} gamma^{i-t} (prod_{j=t}^{i-1} c_j) delta_i,  c_j = min(c_clip, .)
// so the last target bootstraps: v_{T-1} = u_{T-1}. values, rewards, log_ratios: [B, T]
// (the last reward is unused). No gradient flows through the result.
at::Tensor VTraceTargets(const at::Tensor& values, const at::Tensor& rewards,
                         const at::Tensor& log_ratios, double gamma, double rho_clip,
                         double c_clip);

// The pieces of a latent model that the imagined-value objective rolls through. Any
// differentiable callables work, so tests can use closed-form linear/quadratic models.
struct ImaginationModel {
  // (x [S, D]) -> (mean [S, A], log_std [S, A]).
  std::function<std::pair<at::Tensor, at::Tensor>(const at::Tensor&)> policy;
  // (x [S, D], a [S, A]) -> x' [S, D].
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&)> transition;
  // (x' [S, D]) -> reward of the start state's task [S], read after the action.
  std::function<at::Tensor(const at::Tensor&)> reward;
  // (x [S, D]) -> V(x) [S] in reward units.
  std::function<at::Tensor(const at::Tensor&)> value;
};

struct ImaginationOptions {
  int horizon = 5;  // N >= 1.
  bool single_horizon = false;
  double gamma = 0.99;
  double kl_lambda = 0.01;  // 0 disables the KL-regularised reward.
};

// Per start state x0 [S, D], imagines N steps with a_j = mean(x_j) + noise_j * std(x_j)
// (noise [N, S, A]) and returns
//   (1/N) sum_{k=1}^N V_k  (or V_N alone with single_horizon),
//   V_k = sum_{j<k} gamma^j rkl_j + gamma^k V(x_k),
//   rkl_j = r(x_{j+1}) - lambda (log pi(a_j|x_j) - log N(a_j; 0, I)),
// as a tensor [S] that carries gradients to whatever the callables depend on.
at::Tensor ImaginedValueObjective(const ImaginationModel& model, const at::Tensor& x0,
                                  const at::Tensor& noise, const ImaginationOptions& options);

// The same objective as ImaginedValueObjective, on the same rollouts, with the likelihood-
// ratio (score-function) estimate of its gradient instead of the pathwise one: the value
// returned is the objective [S]; its gradient is
//   sum_j grad log pi(a_j | x_j) (to_go_j - b(x_j)),
// to_go_j = the objective's terms that a_j can change (rewards from j on, values after j),
// b(x_j) = sum_{k>j} w_k gamma^j V(x_j) the learned value's estimate of them. No gradient
// flows through the transition, reward or value: only through the policy's log-densities.
// The paper's PG baseline (F.5) with many rollouts per start state (repeat the rows of x0).
at::Tensor LikelihoodRatioObjective(const ImaginationModel& model, const at::Tensor& x0,
                                    const at::Tensor& noise, const ImaginationOptions& options);

// Lambda-returns over imagined rollouts: rewards [N, S] (r_j after the action at x_j) and
// values [N + 1, S] (V(x_0) .. V(x_N)) give, for j = N-1 .. 0,
//   R_j = r_j + gamma ((1 - lambda) V(x_{j+1}) + lambda R_{j+1}),  R_N = V(x_N),
// as [N, S] (j = 0 .. N-1). lambda = 1: the discounted return to N bootstrapped at x_N;
// lambda = 0: one-step TD targets. No gradient flows through the result.
at::Tensor LambdaReturns(const at::Tensor& rewards, const at::Tensor& values, double gamma,
                         double lambda);

// The value loss on the current policy's imagined rollouts (ValueTarget kImagined / kBoth;
// Dreamer's critic): from the detached start states [B, S, D] of tasks task_ids [B], N =
// imagination_horizon steps with a_j = mean(x_j) + noise_j std(x_j) (noise [N, B * S, A], the
// policy objective's) through the transition, without gradient; rewards r_hat(x_{j+1}) with
// the KL term of the objective; lambda-returns bootstrapped from the target value head (the
// slow critic). The loss regresses V(x_j) on R_j for j = 0 .. N-1, mean over states and steps
// (in the value head's scaled units); only the value head gets a gradient.
struct ImaginedValueTerms {
  at::Tensor loss;     // Scalar, with graph to the value head.
  at::Tensor targets;  // [N, B * S] lambda-returns in reward units.
  at::Tensor latents;  // [N, B * S, D] the imagined x_0 .. x_{N-1} (detached).
};
ImaginedValueTerms ComputeImaginedValueLoss(IvgModelImpl& model, const at::Tensor& start_latents,
                                            const at::Tensor& task_ids, const at::Tensor& noise,
                                            const LossOptions& options);

// The SVG(0) critic's regression targets: Q(h_t, a_t) -> r_t + gamma v_{t+1} for t < T - 1,
// from V-trace targets v [B, T] and the (KL-regularised) rewards r [B, T]. [B, T - 1].
at::Tensor QCriticTargets(const at::Tensor& vtrace_targets, const at::Tensor& rewards,
                          double gamma);

// The model's open-loop rollout (eq. 3): from the encoded latent at the end of burn-in,
// latents[:, H-1], the transition applied to the replayed actions a_{H-1} .. a_{L-2}.
// latents [B, T >= H, D], actions [B, L, A] -> g [B, K, D] for times H .. L-1 (K = L - H).
// The model loss and PredictOpenLoop both roll out through this one function.
at::Tensor OpenLoopRollout(TransitionImpl& transition, const at::Tensor& latents,
                           const at::Tensor& actions, int burn_in);

// What the model predicts open loop for a batch, next to what happened (the paper's fig. 13):
// frames and proprio of times H .. L-1 in the parameters' dtype and device.
struct OpenLoopPrediction {
  at::Tensor true_images;        // [B, K, C, S, S] in [0, 1] (pixels / 255).
  at::Tensor predicted_images;   // [B, K, C, S, S] sigmoid of the decoder's logits.
  at::Tensor true_proprio;       // [B, K, P].
  at::Tensor predicted_proprio;  // [B, K, P].
};

// Encodes the first H steps, rolls the transition K steps on the batch's actions and decodes:
// the predictions the model loss's reconstruction terms compare with the true frames (the
// BCE of predicted_images against true_images is its reconstruction_image term). Frames after
// burn-in are never read. Carries gradients unless the caller holds a NoGradGuard.
OpenLoopPrediction PredictOpenLoop(IvgModelImpl& model, const Batch& batch,
                                   const LossOptions& options);

// Loss terms of one batch; tensors are scalars. `total` carries gradients.
struct ModelLossTerms {
  at::Tensor total;
  at::Tensor reconstruction_image;    // BCE, mean per pixel and channel.
  at::Tensor reconstruction_proprio;  // Squared error, mean per dimension.
  at::Tensor consistency;             // ||e_t - g_t||^2, mean per latent dimension.
  // ||r_hat(g_{t+1}) - r_t||^2, and with reward_loss_on_encodings its mean with the same on
  // e_{t+1}; mean per step and task.
  at::Tensor reward;
  at::Tensor value;
  at::Tensor q;  // SVG(0) critic; zero otherwise.
  // Encoded latents e [B, L, D] (with graph) of one encoder pass over the whole sequence from
  // a zero state, so e_t has seen t + 1 frames: the open-loop model loss's latents.
  at::Tensor latents;
  // The actors' latents [B, S, D], S = L - H + 1 (LossOptions::start_states_per_sequence):
  // at steps t = H-1 .. L-1, the encoder over the H frames ending at t from a fresh LSTM
  // state, exactly as PolicyRunner computes the latent it acts on (per-frame features shared
  // with `latents`). Detached (with graph only for model-free SVG(0), whose value and Q train
  // the encoder on them). The policy's start states, V-trace's log pi and every term on the
  // replayed actions read these: a latent the policy never meets when it acts would train it
  // on inputs it never sees.
  at::Tensor start_latents;
  // The open-loop predictions g [B, K, D] for times H..L-1 (with graph); undefined for
  // model-free SVG(0).
  at::Tensor predicted_latents;
  // V-trace targets [B, S] in reward units for steps H-1 .. L-1 (diagnostics and tests).
  at::Tensor vtrace_targets;
  // The V-trace value loss alone (`value` is it unless the learner adds the imagined one:
  // LearnerCore::ComputeGradients, options.value_target).
  at::Tensor vtrace_value;
  // log pi(a_t | s_t) - log mu(a_t) [B, S] for steps H-1 .. L-1, pi at start_latents: zero on
  // on-policy data with the parameters the actor acted with (diagnostics and tests).
  at::Tensor log_ratios;
};

// The model loss of eq. 3-6 / 16-17. The policy enters only through detached importance
// ratios and KL rewards, so this loss gives the policy no gradient. Model-free SVG(0)
// (kSvg0 without svg0_model_loss) keeps only the value and Q terms, on the encoder's latents.
ModelLossTerms ComputeModelLoss(IvgModelImpl& model, const Batch& batch,
                                const LossOptions& options);

// For CEM runs: the planner's distribution of the first action at every latent [B, L, D] of
// tasks task_ids [B] (mean and log std, [B, L, A] each), planned on the current networks
// with options.cem. The value targets' target policy. No gradient.
std::pair<at::Tensor, at::Tensor> CemActionDistribution(IvgModelImpl& model,
                                                        const at::Tensor& latents,
                                                        const at::Tensor& task_ids,
                                                        const LossOptions& options);

// The policy loss (-objective) from detached start latents [B, S, D] (the learner passes
// ModelLossTerms::start_latents): IVG(N) for N >= 1, SVG(0) through the Q critic, or PG
// (likelihood ratio, pg_rollouts per start state); a constant without gradient for CEM (no
// parametric policy). noise: [max(N, 1), B * S * policy_rollouts_per_start(), A].
// behaviour_actions [B, S, A]: the replayed actions taken at those start states (steps
// H-1 .. L-1 of the batch), needed when options.policy_behaviour_nll_weight > 0.
at::Tensor ComputePolicyLoss(IvgModelImpl& model, const at::Tensor& latents,
                             const at::Tensor& task_ids, const at::Tensor& noise,
                             const LossOptions& options,
                             const at::Tensor& behaviour_actions = at::Tensor());

// The trust region to the behaviour policy: mean over rows of -log N(actions; mean,
// exp(log_std)^2) (summed over action dimensions) for [R, A] tensors. The actions were drawn
// by the behaviour policy, so this estimates KL(behaviour || policy) plus the behaviour's
// entropy, a constant.
at::Tensor BehaviourNll(const at::Tensor& actions, const at::Tensor& mean,
                        const at::Tensor& log_std);

// The penalty on policy means beyond the action bounds [-1, 1]: the mean over rows of
// sum_d max(|mean_d| - 1, 0)^2 for means [R, A]; zero, with zero gradient, inside the bounds.
at::Tensor MeanBeyondBoundsPenalty(const at::Tensor& mean);

// mean(BCE(sigmoid(logits), targets)) = mean(softplus(x) - x y), the reconstruction loss, as
// one autograd node: two passes over the images forward (ATen's general form makes ~9) and
// three backward, where d/dx = (sigmoid(x) - y) / n. Equal to
// torch::nn::functional::binary_cross_entropy_with_logits in value and gradient.
at::Tensor BinaryCrossEntropyWithLogitsMean(const at::Tensor& logits, const at::Tensor& targets);

// The same with per-pixel weights broadcast over channels, normalised by their mean:
// mean(w * (softplus(x) - x y)) / mean(w). One autograd node; the weights get no gradient.
at::Tensor WeightedBinaryCrossEntropyWithLogitsMean(const at::Tensor& logits,
                                                    const at::Tensor& targets,
                                                    const at::Tensor& weights);

// The static scene of a batch of images [B, L, C, S, S] in [0, 1]: per pixel and channel the
// median over the B sequences' last frames, [C, S, S]. Each sequence is another episode, so a
// pixel that a cube or the arm covers in a minority of them keeps the table's colour.
at::Tensor BatchBackground(const at::Tensor& images);

// Per-pixel reconstruction weights [..., 1, S, S] for target frames [..., C, S, S]:
// 1 + c * d / mean(d), d the largest channel difference from `background` [C, S, S]; 1 where
// the frames show the background or c = 0.
at::Tensor ForegroundPixelWeights(const at::Tensor& frames, const at::Tensor& background,
                                  double c);

// What the value heads predict per unit of value in reward units: (1 - gamma) with
// scale_value_by_one_minus_gamma, else 1. Divide a head's output by it for reward units.
double ValueScale(const LossOptions& options);

// What the transition and the Q critic see for policy samples u (replayed or imagined): the
// action the environment executes, tanh(u) or u clipped to [-1, 1] (clip_model_actions), or
// the raw sample. The policy densities (V-trace, the KL) stay on u.
at::Tensor ModelInputAction(const at::Tensor& u, const ModelOptions& model,
                            const LossOptions& options);

// Each row's reward of its own task: rewards [B, L, M], task_ids [B] (int64) -> [B, L].
at::Tensor TaskReward(const at::Tensor& rewards, const at::Tensor& task_ids);

// One-hot task rows [.., M] in the dtype of `like`.
at::Tensor TaskOneHot(const at::Tensor& task_ids, int num_tasks, const at::Tensor& like);

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_LOSSES_H_
