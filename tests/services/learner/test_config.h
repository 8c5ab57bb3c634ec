// A tiny experiment config for learner-process tests (small networks, L = 5).
#ifndef IVG_TESTS_SERVICES_LEARNER_TEST_CONFIG_H_
#define IVG_TESTS_SERVICES_LEARNER_TEST_CONFIG_H_

#include "proto/config.pb.h"

namespace ivg::learner::testing {

inline ExperimentConfig TinyExperimentConfig() {
  ExperimentConfig c;
  c.set_profile("test-tiny");
  ModelConfig* m = c.mutable_model();
  m->set_latent_size(8);
  m->set_encoder_channels(4);
  m->set_encoder_hidden(16);
  m->set_transition_hidden(16);
  m->set_decoder_channels(8);
  m->set_decoder_hidden(16);
  m->set_head_hidden(16);
  m->set_proprio_size(3);
  m->set_action_size(2);
  LearnerConfig* l = c.mutable_learner();
  l->set_burn_in(2);
  l->set_model_rollout(3);
  l->set_imagination_horizon(3);
  l->set_batch_size_per_learner(4);
  l->set_model_learning_rate(1e-3);
  l->set_policy_learning_rate(1e-3);
  l->set_use_cuda_if_available(false);
  l->set_target_update_period(3);
  l->set_checkpoint_every_minutes(0);
  c.mutable_env()->set_episode_steps(10);
  return c;
}

}  // namespace ivg::learner::testing

#endif  // IVG_TESTS_SERVICES_LEARNER_TEST_CONFIG_H_
