#include "model/config/model_config.h"

#include "absl/status/status.h"
#include "common/config/config_loader.h"
#include "common/config/derived_values.h"
#include "common/status/status_macros.h"

namespace ivg::model {

absl::StatusOr<CoreOptions> CoreOptionsFromConfig(const ExperimentConfig& config) {
  IVG_RETURN_IF_ERROR(ValidateExperimentConfig(config, "experiment config"));
  const ModelConfig& m = config.model();
  const LearnerConfig& l = config.learner();
  CoreOptions o;
  o.model.latent_size = m.latent_size();
  o.model.encoder_channels = m.encoder_channels();
  switch (m.encoder_pooling()) {
    case ENCODER_POOLING_SPATIAL_SOFTMAX:
      o.model.encoder_pooling = EncoderPooling::kSpatialSoftmax;
      break;
    case ENCODER_POOLING_FLATTEN: o.model.encoder_pooling = EncoderPooling::kFlatten; break;
    default: o.model.encoder_pooling = EncoderPooling::kAverage; break;
  }
  o.model.encoder_hidden = m.encoder_hidden();
  o.model.transition_hidden = m.transition_hidden();
  o.model.decoder_channels = m.decoder_channels();
  o.model.decoder_hidden = m.decoder_hidden();
  o.model.head_hidden = m.head_hidden();
  o.model.policy_last_layer_init_scale = m.policy_last_layer_init_scale();
  o.model.zero_init_heads = m.zero_init_heads();
  o.model.policy_min_log_std = m.policy_min_log_std();
  o.model.policy_max_log_std = m.policy_max_log_std();
  o.model.tanh_squashed_policy = m.tanh_squashed_policy();
  o.model.proprio_size = m.proprio_size();
  o.model.action_size = m.action_size();
  // From state there are no images: the model's image size 0 drops the conv tower and the
  // image decoder, and batches carry [B, L, C, 0, 0] images.
  o.model.image_size =
      config.env().observation() == OBSERVATION_STATE ? 0 : config.env().image_size();
  o.model.num_tasks = ivg::NumTasks(config);

  o.loss.burn_in = l.burn_in();
  o.loss.model_rollout = l.model_rollout();
  o.loss.imagination_horizon = l.imagination_horizon();
  o.loss.single_horizon = l.single_horizon();
  o.loss.clip_model_actions = l.clip_model_actions();
  switch (l.policy_algorithm()) {
    case POLICY_SVG0: o.loss.policy_algorithm = PolicyAlgorithm::kSvg0; break;
    case POLICY_PG: o.loss.policy_algorithm = PolicyAlgorithm::kPg; break;
    case POLICY_CEM: o.loss.policy_algorithm = PolicyAlgorithm::kCem; break;
    default: o.loss.policy_algorithm = PolicyAlgorithm::kIvg; break;
  }
  o.loss.svg0_model_loss = l.svg0_model_loss();
  o.loss.pg_rollouts = l.pg_rollouts();
  o.loss.cem.horizon = l.cem_horizon();
  o.loss.cem.trajectories = l.cem_trajectories();
  o.loss.cem.iterations = l.cem_iterations();
  o.loss.cem.elites = l.cem_elites();
  o.loss.gamma = l.gamma();
  o.loss.alpha_reward = l.alpha_reward();
  o.loss.reward_loss_on_encodings = l.reward_loss_on_encodings();
  o.loss.reconstructed_steps_per_sequence = l.reconstructed_steps_per_sequence();
  o.loss.policy_mean_bound_penalty = l.policy_mean_bound_penalty();
  o.loss.reconstruction_foreground_weight = l.reconstruction_foreground_weight();
  o.loss.policy_behaviour_nll_weight = l.policy_behaviour_nll_weight();
  o.loss.beta_value = l.beta_value();
  o.loss.zeta_consistency = l.zeta_consistency();
  o.loss.reconstruction_weight = l.reconstruction_weight();
  o.loss.kl_regularization = l.kl_regularization();
  o.loss.kl_lambda = l.kl_lambda();
  o.loss.vtrace_rho_clip = l.vtrace_rho_clip();
  o.loss.vtrace_c_clip = l.vtrace_c_clip();
  o.loss.value_loss_importance_weight = l.value_loss_importance_weight();
  o.loss.scale_value_by_one_minus_gamma = l.scale_value_by_one_minus_gamma();
  switch (l.value_target()) {
    case VALUE_TARGET_IMAGINED: o.loss.value_target = ValueTarget::kImagined; break;
    case VALUE_TARGET_BOTH: o.loss.value_target = ValueTarget::kBoth; break;
    default: o.loss.value_target = ValueTarget::kVTrace; break;
  }
  o.loss.imagined_value_lambda = l.imagined_value_lambda();

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
  if (m.proprio_low_size() == 0) {
    if (config.env().observation() == OBSERVATION_STATE) {
      // The validated proprio_size is 17 + 16 per object.
      return StateObservationBounds((m.proprio_size() - static_cast<int>(kProprioDims)) /
                                    static_cast<int>(kObjectFeatureDims));
    }
    if (!config.env().proprio_with_object_offsets()) return DefaultProprioBounds(m.proprio_size());
    // The 17 features' bounds, then the objects' offsets from the TCP: the workspace is
    // within a metre of the TCP in every direction (a 60 x 30 cm table, 35 cm of height).
    ProprioBounds bounds = DefaultProprioBounds(static_cast<int>(kProprioDims));
    bounds.low.resize(m.proprio_size(), -1.0);
    bounds.high.resize(m.proprio_size(), 1.0);
    return bounds;
  }
  ProprioBounds bounds;
  bounds.low.assign(m.proprio_low().begin(), m.proprio_low().end());
  bounds.high.assign(m.proprio_high().begin(), m.proprio_high().end());
  return bounds;
}

}  // namespace ivg::model
