#include "services/actor/env/model_proprio.h"

namespace ivg::env {

std::vector<float> ModelProprio(const Observation& observation, const EnvConfig& config) {
  std::vector<float> out(observation.proprio.begin(), observation.proprio.end());
  if (!config.proprio_with_object_offsets()) return out;
  // Each object's block ends with its position relative to the TCP (env_spec.h).
  constexpr int kOffsetStart = kObjectFeatureSize - 3;
  for (size_t block = 0; block + kObjectFeatureSize <= observation.object_state.size();
       block += kObjectFeatureSize) {
    for (int i = 0; i < 3; ++i) out.push_back(observation.object_state[block + kOffsetStart + i]);
  }
  return out;
}

}  // namespace ivg::env
