// The proprioception vector that actors record to replay and feed to the policy (and that the
// learner's model reads): the environment's 17 features, followed, with the diagnostic
// env.proprio_with_object_offsets, by each object's position relative to the TCP.
#ifndef IVG_SERVICES_ACTOR_ENV_MODEL_PROPRIO_H_
#define IVG_SERVICES_ACTOR_ENV_MODEL_PROPRIO_H_

#include <vector>

#include "proto/config.pb.h"
#include "services/actor/env/env_spec.h"

namespace ivg::env {

// observation.proprio, then with config.proprio_with_object_offsets() the last 3 features
// (offset from the TCP, metres) of every object in observation.object_state's order.
std::vector<float> ModelProprio(const Observation& observation, const EnvConfig& config);

}  // namespace ivg::env

#endif  // IVG_SERVICES_ACTOR_ENV_MODEL_PROPRIO_H_
