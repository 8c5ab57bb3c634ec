// One learner batch as tensors: B sequences of L = H + K steps (docs/algorithm.md "Data").
#ifndef IVG_MODEL_CORE_BATCH_H_
#define IVG_MODEL_CORE_BATCH_H_

#include <ATen/core/Tensor.h>

#include "model/core/options.h"
#include "model/core/result.h"

namespace ivg::model {

struct Batch {
  at::Tensor images;               // [B, L, C, S, S] uint8 (pixels 0..255).
  at::Tensor proprio;              // [B, L, P] float, already scaled to [-1, 1].
  at::Tensor actions;              // [B, L, A] float, the raw policy samples.
  at::Tensor rewards;              // [B, L, M] float; r_t follows a_t.
  at::Tensor behaviour_log_probs;  // [B, L] float: log mu(a_t | h_t).
  at::Tensor task_ids;             // [B] int64 in [0, M).
  // Optional reparameterisation noise of the policy objective, [max(N, 1), B * S * R, A] (S =
  // L - H + 1 start states per sequence, R rollouts per start: 1, or pg_rollouts) in the
  // parameters' dtype. When undefined the learner draws it from its own generator; tests pass
  // it to compare two learners of 16 with one of 32 on the same noise.
  at::Tensor policy_noise;
  // Optional [B, n] int64 in [0, K): which of each sequence's K open-loop predictions the
  // reconstruction loss decodes. When undefined, the learner draws n distinct steps per row
  // from its own generator if LossOptions asks for a subset, and decodes all K otherwise.
  at::Tensor reconstructed_steps;
};

// Checks ranks, sizes and dtypes against the options; the error names the field, the
// expected and the received shape.
Error ValidateBatch(const Batch& batch, const CoreOptions& options);

// The rows [begin, end) of every field (policy noise is split along its second dimension).
Batch SliceBatch(const Batch& batch, int64_t begin, int64_t end);

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_BATCH_H_
