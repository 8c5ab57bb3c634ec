// One IVG learner's state and update step: the networks, the target network, both Adam
// optimisers, the noise generator, and the guard rails around a step. Depends on LibTorch
// only; the learner process (services/learner) adds config, data, c10d and metrics.
//
// Thread-compatibility: one thread drives a LearnerCore.
#ifndef IVG_MODEL_CORE_LEARNER_CORE_H_
#define IVG_MODEL_CORE_LEARNER_CORE_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "model/core/batch.h"
#include "model/core/collective.h"
#include "model/core/losses.h"
#include "model/core/networks.h"
#include "model/core/options.h"
#include "model/core/result.h"

namespace ivg::model {

// Scalar loss values of one step (averaged over the learner's own batch).
struct LossValues {
  double reconstruction_image = 0;
  double reconstruction_proprio = 0;
  double consistency = 0;
  double reward = 0;
  double value = 0;
  double q = 0;
  double model_total = 0;
  double policy = 0;
  // The first non-finite term by name ("" when all are finite).
  std::string first_nonfinite;
};

// What says why an agent does or does not learn, from the same step (no extra batch):
// the policy on the batch's latents, the value against its targets, and where the
// gradients go. Means over the learner's own batch; reward units.
struct StepDiagnostics {
  double policy_log_std_mean = 0;      // mean log sigma(h)
  double policy_abs_mean_action = 0;   // mean |mu(h)|
  double policy_mean_outside_bounds = 0;  // fraction of mu(h) entries beyond [-1, 1]
  // The policy objective: -policy loss without the regularisers added to it (the mean-bound
  // penalty, the behaviour trust region).
  double imagined_objective = 0;
  // How far the policy is from the actions it is trained on: the mean -log pi(a_t | e_t) of
  // the batch's replayed actions (BehaviourNll), = KL(behaviour || policy) + the behaviour's
  // entropy; it jumps when the policy leaves the data.
  double behaviour_nll = 0;
  double value_mean = 0;               // V(e_t) over the batch's latents
  double value_target_mean = 0;        // V-trace targets
  // Whether the heads the policy's gradient flows through are right where it starts: the
  // explained variance 1 - Var(y - y_hat) / Var(y) (1 exact, 0 no better than the batch
  // mean, negative worse; NaN when y does not vary over the batch) on the encoder's latents
  // e_t. Reward head r_hat(e_{t+1}) against r_t; value head V(e_t) against the V-trace
  // targets. The model loss trains both on the transition's predictions g_t (and with
  // reward_loss_on_encodings the reward head on e_t as well).
  double reward_explained_variance = 0;
  double value_explained_variance = 0;
  // The reward head where the model loss trains it: r_hat(g_{t+1}) against r_t on the
  // open-loop predictions (NaN for model-free SVG(0), which has none). Against the number
  // above: whether the head fits at all, or only off the states the policy starts from.
  double open_loop_reward_explained_variance = 0;
  // Gradient norm per module group (encoder, transition, decoder, heads, policy), before
  // averaging across learners and clipping.
  std::map<std::string, double> grad_norms;
};

struct StepStats {
  int64_t step = 0;  // Learner steps applied so far (after this one).
  bool applied = false;
  bool target_updated = false;
  LossValues losses;
  StepDiagnostics diagnostics;
  double model_grad_norm = 0;   // Before clipping, after averaging across learners.
  double policy_grad_norm = 0;
  double allreduce_seconds = 0;
  int consecutive_nonfinite = 0;
  // Why a step was skipped ("" when applied).
  std::string skip_reason;
};

// 1 - Var(target - prediction) / Var(target) over all entries (equal shapes); NaN when the
// target's variance is below 1e-12.
double ExplainedVariance(const at::Tensor& prediction, const at::Tensor& target);

class LearnerCore {
 public:
  // Builds the networks (seeded with options.seed), the target copy and both optimisers.
  static Result<std::unique_ptr<LearnerCore>> Create(const CoreOptions& options);

  // Rejects a batch of the wrong shape (naming expected and received shape), then computes
  // both losses, averages gradients across learners when `collective` is given, and applies
  // both Adam steps. A non-finite loss or gradient skips the step (every learner skips it,
  // since the skip flag is all-reduced too); max_consecutive_nonfinite_steps skips in a row
  // are an error naming the term.
  Result<StepStats> Step(const Batch& batch, Collective* collective = nullptr);

  // Fills every parameter's .grad for one batch: phi from the model loss only, theta from the
  // policy loss only. Returns the loss values. Used by Step and by tests.
  Result<LossValues> ComputeGradients(const Batch& batch,
                                      StepDiagnostics* diagnostics = nullptr);

  // The open-loop prediction of the model loss for `batch` (see PredictOpenLoop in losses.h),
  // computed without gradients: validates the batch like Step and changes no state. The
  // learner process draws reconstruction strips from it.
  Result<OpenLoopPrediction> PredictOpenLoop(const Batch& batch);

  // Makes every learner hold rank 0's training state: parameters (and target network), both
  // optimisers' moments and the step counters. After it the ranks are one learner again even
  // if they resumed from checkpoints of different steps (a rank killed between two
  // checkpoints). Each rank keeps its own noise generator: ranks draw different policy noise.
  Error BroadcastTrainingState(Collective& collective);

  // Atomic (temp file + rename). `metadata` is stored verbatim (the process puts the config
  // and its data-source state there).
  Error SaveCheckpoint(const std::string& path, const std::string& metadata) const;
  // Restores everything SaveCheckpoint wrote; returns the metadata.
  Result<std::string> LoadCheckpoint(const std::string& path);
  // Transfer (F.6): encoder, transition and decoder from a checkpoint; policy, value, reward
  // (and Q) keep their fresh initialisation; the target network is refreshed.
  Error LoadTransfer(const std::string& path);

  // Encoder + policy parameters with stable names ("encoder.conv0.weight", "policy.fc1.bias"):
  // what actors need.
  std::vector<std::pair<std::string, at::Tensor>> ActorParameters() const;
  std::vector<std::pair<std::string, at::Tensor>> AllParameters() const;

  IvgModel& model() { return model_; }
  const CoreOptions& options() const { return options_; }
  int64_t step() const { return step_; }
  int64_t target_updates() const { return target_updates_; }
  at::Device device() const { return device_; }
  // Noise for one batch of B sequences, drawn from the learner's generator.
  at::Tensor DrawPolicyNoise(int64_t batch_size);
  // Which of the K predicted steps each of B sequences reconstructs ([B, n] int64, n distinct
  // steps per row, from the learner's generator), or an undefined tensor when the options
  // decode all K.
  at::Tensor DrawReconstructedSteps(int64_t batch_size);

 private:
  LearnerCore(const CoreOptions& options, at::Device device);
  // Parameters, optimiser moments and counters: what checkpoints and the broadcast carry.
  void WriteTrainingState(torch::serialize::OutputArchive& archive) const;
  Error ReadTrainingState(torch::serialize::InputArchive& archive, const std::string& what);
  void FillDiagnostics(const ModelLossTerms& terms, const Batch& batch, double policy_loss,
                       StepDiagnostics* diagnostics);

  CoreOptions options_;
  at::Device device_;
  IvgModel model_{nullptr};
  std::unique_ptr<torch::optim::Adam> model_optimizer_;
  std::unique_ptr<torch::optim::Adam> policy_optimizer_;
  mutable at::Generator noise_generator_;  // get_state() is non-const.
  int64_t step_ = 0;
  int64_t target_updates_ = 0;
  int consecutive_nonfinite_ = 0;
};

// A string that identifies the network sizes; checkpoints and parameter sets carry it.
std::string ModelOptionsFingerprint(const ModelOptions& options);

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_LEARNER_CORE_H_
