#include "model/core/batch.h"

#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace ivg::model {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

Error CheckShape(const char* name, const at::Tensor& t, const std::vector<int64_t>& expected) {
  if (!t.defined()) return std::string("batch field '") + name + "' is missing";
  std::vector<int64_t> got = t.sizes().vec();
  if (got != expected) {
    return std::string("batch field '") + name + "' has shape " + ShapeString(got) +
           ", expected " + ShapeString(expected);
  }
  return std::nullopt;
}

}  // namespace

Error ValidateBatch(const Batch& batch, const CoreOptions& options) {
  const ModelOptions& m = options.model;
  const int64_t l = options.loss.sequence_length();
  if (!batch.images.defined() || batch.images.dim() < 1 || batch.images.size(0) < 1) {
    return std::string("batch field 'images' is missing or empty");
  }
  const int64_t b = batch.images.size(0);
  if (Error e = CheckShape("images", batch.images,
                           {b, l, m.image_channels, m.image_size, m.image_size})) {
    return e;
  }
  if (batch.images.scalar_type() != at::kByte) return std::string("batch images must be uint8");
  if (Error e = CheckShape("proprio", batch.proprio, {b, l, m.proprio_size})) return e;
  if (Error e = CheckShape("actions", batch.actions, {b, l, m.action_size})) return e;
  if (Error e = CheckShape("rewards", batch.rewards, {b, l, m.num_tasks})) return e;
  if (Error e = CheckShape("behaviour_log_probs", batch.behaviour_log_probs, {b, l})) return e;
  if (Error e = CheckShape("task_ids", batch.task_ids, {b})) return e;
  for (const at::Tensor* t : {&batch.proprio, &batch.actions, &batch.rewards,
                              &batch.behaviour_log_probs}) {
    if (!at::isFloatingType(t->scalar_type())) {
      return std::string("batch proprio/actions/rewards/log-probs must be floating point");
    }
  }
  if (batch.task_ids.scalar_type() != at::kLong) return std::string("batch task_ids must be int64");
  if (b > 0) {
    const int64_t lo = batch.task_ids.min().item<int64_t>();
    const int64_t hi = batch.task_ids.max().item<int64_t>();
    if (lo < 0 || hi >= m.num_tasks) {
      return "batch task_ids must lie in [0, " + std::to_string(m.num_tasks) + "), got [" +
             std::to_string(lo) + ", " + std::to_string(hi) + "]";
    }
  }
  if (batch.policy_noise.defined()) {
    const int64_t n = options.loss.noise_steps();
    const int64_t rows = b * options.loss.start_states_per_sequence() *
                         options.loss.policy_rollouts_per_start();
    if (Error e = CheckShape("policy_noise", batch.policy_noise, {n, rows, m.action_size})) {
      return e;
    }
  }
  if (batch.reconstructed_steps.defined()) {
    const int64_t k = options.loss.model_rollout;
    const at::Tensor& steps = batch.reconstructed_steps;
    if (steps.dim() != 2 || steps.size(0) != b || steps.size(1) < 1 || steps.size(1) > k) {
      return "batch field 'reconstructed_steps' has shape " + ShapeString(steps.sizes().vec()) +
             ", expected [" + std::to_string(b) + ", n] with 1 <= n <= K = " + std::to_string(k);
    }
    if (steps.scalar_type() != at::kLong) {
      return std::string("batch reconstructed_steps must be int64");
    }
    const int64_t lo = steps.min().item<int64_t>();
    const int64_t hi = steps.max().item<int64_t>();
    if (lo < 0 || hi >= k) {
      return "batch reconstructed_steps must lie in [0, " + std::to_string(k) + "), got [" +
             std::to_string(lo) + ", " + std::to_string(hi) + "]";
    }
  }
  return std::nullopt;
}

Batch SliceBatch(const Batch& batch, int64_t begin, int64_t end) {
  Batch out;
  out.images = batch.images.slice(0, begin, end);
  out.proprio = batch.proprio.slice(0, begin, end);
  out.actions = batch.actions.slice(0, begin, end);
  out.rewards = batch.rewards.slice(0, begin, end);
  out.behaviour_log_probs = batch.behaviour_log_probs.slice(0, begin, end);
  out.task_ids = batch.task_ids.slice(0, begin, end);
  if (batch.policy_noise.defined()) {
    // Noise rows are grouped per batch item (its L - H + 1 start states, each with its
    // rollouts).
    const int64_t rows_per_item = batch.policy_noise.size(1) / batch.images.size(0);
    out.policy_noise = batch.policy_noise.slice(1, begin * rows_per_item, end * rows_per_item);
  }
  if (batch.reconstructed_steps.defined()) {
    out.reconstructed_steps = batch.reconstructed_steps.slice(0, begin, end);
  }
  return out;
}

}  // namespace ivg::model
