// What actors record to replay and feed to the policy (and what the learner's model reads),
// built from one observation by the run's env.observation:
// - pixels (the paper's agent): both cameras, and the environment's 17 proprioception
//   features, followed, with the diagnostic env.proprio_with_object_offsets, by each object's
//   position relative to the TCP;
// - state: no image, and the 17 features followed by every object's table-2 features (the
//   whole object_state: pose 7, velocity 6, offset from the TCP 3 per object).
#ifndef IVG_ENV_MODEL_PROPRIO_H_
#define IVG_ENV_MODEL_PROPRIO_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "env/env_spec.h"
#include "proto/config.pb.h"

namespace ivg::env {

// The proprioception vector of the model (raw units; the model core scales it).
std::vector<float> ModelProprio(const Observation& observation, const EnvConfig& config);

// The image the model reads: observation.pixels, or nothing from state (the evaluator may
// still render for its video; the policy does not see it).
absl::Span<const uint8_t> ModelImage(const Observation& observation, const EnvConfig& config);

// Whether the run's model reads camera images (false from state: actors need not render).
bool ObservesPixels(const EnvConfig& config);

}  // namespace ivg::env

#endif  // IVG_ENV_MODEL_PROPRIO_H_
