// The actor's policy: encoder + Gaussian policy, loaded from the parameter server's actor
// parameter set, acting on an observation history the way docs/algorithm.md prescribes: encode
// the last H frames from a fresh LSTM state, sample a = mu(h) + eps * sigma(h), and report
// log mu(a | h) for V-trace. In a CEM run (learner.policy_algorithm POLICY_CEM) mu and sigma
// are the cross-entropy planner's first action and spread on the learned model (transition,
// reward and value heads, which the actor parameter set then carries).
//
// Shared by the actor process and the live policy service. The header is free of LibTorch
// (pimpl) so gRPC code that includes it does not compile LibTorch.
#ifndef IVG_MODEL_POLICY_POLICY_RUNNER_H_
#define IVG_MODEL_POLICY_POLICY_RUNNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "proto/config.pb.h"
#include "proto/tensor.pb.h"

namespace ivg::model {

// One observation frame as the environment produces it (raw units).
struct FrameView {
  // 6 x S x S uint8, both cameras stacked along channels.
  absl::Span<const uint8_t> image;
  // 17 raw proprioception floats (scaled inside).
  absl::Span<const float> proprio;
};

struct PolicyOutput {
  // What to execute: `sample`, squashed by tanh for a tanh-squashed policy (then always in
  // (-1, 1)); otherwise `sample` itself, unbounded (the environment clips it to [-1, 1]).
  std::vector<float> action;
  // The policy's Gaussian sample (the mean when deterministic) before any squash: what
  // replay stores, since the learner's densities (V-trace, the KL) are over it.
  std::vector<float> sample;
  std::vector<float> mean;     // of the Gaussian, before any squash
  std::vector<float> log_std;
  float log_prob = 0;          // log N(sample; mean, exp(log_std)^2)
  // The latent h_t the policy acted on (the encoder over the window from a fresh LSTM state):
  // the learner's start state for the same frames (ModelLossTerms::start_latents).
  std::vector<float> latent;
};

class PolicyRunner {
 public:
  // Builds networks with the sizes of `config.model` and the task count of `config.env`.
  // `threads` limits LibTorch's intra-op threads for this process (1 for actors).
  static absl::StatusOr<std::unique_ptr<PolicyRunner>> Create(const ExperimentConfig& config,
                                                              int threads);
  ~PolicyRunner();

  // Copies the encoder.* and policy.* tensors (and for CEM transition.*, reward.*, value.*)
  // of `actor_params` into the networks. Every network parameter must be present with the
  // right shape and dtype, else nothing changes and the error names the tensor. Thread-safe
  // against concurrent Act calls.
  absl::Status Load(const NamedTensors& actor_params, int64_t version);

  // -1 until the first successful Load.
  int64_t version() const;

  // Acts on `history` (oldest first; 1 to H frames). `task_id` selects the one-hot task
  // input in multi-task runs. Errors name what is wrong with the input (image size, frame
  // count, non-finite proprioception, task id). `seed` seeds the noise of this call.
  // Thread-safe (the live policy service calls it from many gRPC threads).
  absl::StatusOr<PolicyOutput> Act(absl::Span<const FrameView> history, int task_id,
                                   bool deterministic, uint64_t seed) const;

  // The actor's incremental form of Act: the same result as Act on the last H frames given
  // since StartEpisode(), but each frame's CNN features are computed once and cached, so a
  // step encodes only the newest frame and re-runs the LSTM over the window. Not
  // thread-safe; Load() must not be called between StartEpisode() and the episode's end
  // (actors load new parameters only at episode starts).
  void StartEpisode();
  absl::StatusOr<PolicyOutput> ActOnNewestFrame(const FrameView& frame, int task_id,
                                                bool deterministic, uint64_t seed);

  // Stochastic actions are drawn with the policy's std times `scale` (> 0; 1 after Create),
  // and PolicyOutput's log_std and log_prob describe that distribution, since the density an
  // actor samples from is the behaviour density V-trace corrects with. Deterministic actions
  // are unaffected. Call before acting (not thread-safe against Act).
  void SetExplorationScale(double scale);
  double exploration_scale() const;

  int history_length() const;
  int image_size() const;

 private:
  struct Impl;
  explicit PolicyRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivg::model

#endif  // IVG_MODEL_POLICY_POLICY_RUNNER_H_
