#include "services/learner/config_options.h"

#include "services/actor/env/proprio_scaling.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ivg::learner {

int NumTasks(const ExperimentConfig& config) {
  return config.env().multitask_tasks_size() > 0 ? config.env().multitask_tasks_size() : 1;
}

absl::StatusOr<CoreOptions> CoreOptionsFromConfig(const ExperimentConfig& config) {
  const ModelConfig& m = config.model();
  const LearnerConfig& l = config.learner();
  if (m.decoder_channels() % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.decoder_channels must be divisible by 4 (bilinear additive upsampling), got ",
        m.decoder_channels()));
  }
  if (config.env().image_size() != 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "env.image_size must be 64 for the learner's decoder, got ", config.env().image_size()));
  }
  if (m.proprio_low_size() != m.proprio_high_size() ||
      (m.proprio_low_size() != 0 && m.proprio_low_size() != m.proprio_size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.proprio_low and model.proprio_high must both be empty or both hold ",
        m.proprio_size(), " values; got ", m.proprio_low_size(), " and ", m.proprio_high_size()));
  }
  for (int i = 0; i < m.proprio_low_size(); ++i) {
    if (!(m.proprio_low(i) < m.proprio_high(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.proprio_low[", i, "] must be below model.proprio_high[", i, "]"));
    }
  }
  CoreOptions o;
  o.model.latent_size = m.latent_size();
  o.model.encoder_channels = m.encoder_channels();
  o.model.encoder_hidden = m.encoder_hidden();
  o.model.transition_hidden = m.transition_hidden();
  o.model.decoder_channels = m.decoder_channels();
  o.model.decoder_hidden = m.decoder_hidden();
  o.model.head_hidden = m.head_hidden();
  o.model.policy_last_layer_init_scale = m.policy_last_layer_init_scale();
  o.model.policy_min_log_std = m.policy_min_log_std();
  o.model.policy_max_log_std = m.policy_max_log_std();
  o.model.proprio_size = m.proprio_size();
  o.model.action_size = m.action_size();
  o.model.image_size = config.env().image_size();
  o.model.num_tasks = NumTasks(config);
  if (m.tanh_squashed_policy()) {
    return absl::UnimplementedError(
        "model.tanh_squashed_policy is not implemented by the learner; use the unbounded "
        "Gaussian (the default)");
  }

  o.loss.burn_in = l.burn_in();
  o.loss.model_rollout = l.model_rollout();
  o.loss.imagination_horizon = l.imagination_horizon();
  o.loss.single_horizon = l.single_horizon();
  o.loss.policy_algorithm =
      l.policy_algorithm() == POLICY_SVG0 ? PolicyAlgorithm::kSvg0 : PolicyAlgorithm::kIvg;
  o.loss.gamma = l.gamma();
  o.loss.alpha_reward = l.alpha_reward();
  o.loss.beta_value = l.beta_value();
  o.loss.zeta_consistency = l.zeta_consistency();
  o.loss.reconstruction_weight = l.reconstruction_weight();
  o.loss.kl_regularization = l.kl_regularization();
  o.loss.kl_lambda = l.kl_lambda();
  o.loss.vtrace_rho_clip = l.vtrace_rho_clip();
  o.loss.vtrace_c_clip = l.vtrace_c_clip();
  o.loss.value_loss_importance_weight = l.value_loss_importance_weight();
  o.loss.scale_value_by_one_minus_gamma = l.scale_value_by_one_minus_gamma();
  if (o.loss.scale_value_by_one_minus_gamma && o.loss.gamma >= 1.0) {
    return absl::InvalidArgumentError(
        "learner.scale_value_by_one_minus_gamma needs learner.gamma < 1");
  }

  o.optimizer.model_learning_rate = l.model_learning_rate();
  o.optimizer.policy_learning_rate = l.policy_learning_rate();
  o.optimizer.adam_beta1 = l.adam_beta1();
  o.optimizer.adam_beta2 = l.adam_beta2();
  o.optimizer.adam_epsilon = l.adam_epsilon();
  o.optimizer.max_grad_norm = l.max_grad_norm();
  o.optimizer.target_update_period = l.target_update_period();
  o.optimizer.max_consecutive_nonfinite_steps = l.max_consecutive_nonfinite_steps();
  o.seed = l.seed();
  o.use_cuda_if_available = l.use_cuda_if_available();
  return o;
}

ProprioBounds ProprioBoundsFromConfig(const ExperimentConfig& config) {
  const ModelConfig& m = config.model();
  ProprioBounds bounds;
  if (m.proprio_low_size() > 0) {
    bounds.low.assign(m.proprio_low().begin(), m.proprio_low().end());
    bounds.high.assign(m.proprio_high().begin(), m.proprio_high().end());
  } else if (m.proprio_size() == static_cast<int>(env::kProprioDims)) {
    bounds.low.assign(env::kProprioLow.begin(), env::kProprioLow.end());
    bounds.high.assign(env::kProprioHigh.begin(), env::kProprioHigh.end());
  }
  return bounds;
}

}  // namespace ivg::learner
