#include "env/model_proprio.h"

namespace ivg::env {

bool ObservesPixels(const EnvConfig& config) {
  return config.observation() != OBSERVATION_STATE;
}

std::vector<float> ModelProprio(const Observation& observation, const EnvConfig& config) {
  std::vector<float> out(observation.proprio.begin(), observation.proprio.end());
  if (!ObservesPixels(config)) {
    out.insert(out.end(), observation.object_state.begin(), observation.object_state.end());
    return out;
  }
  if (!config.proprio_with_object_offsets()) return out;
  // Each object's block ends with its position relative to the TCP (env_spec.h).
  constexpr int kOffsetStart = kObjectFeatureSize - 3;
  for (size_t block = 0; block + kObjectFeatureSize <= observation.object_state.size();
       block += kObjectFeatureSize) {
    for (int i = 0; i < 3; ++i) out.push_back(observation.object_state[block + kOffsetStart + i]);
  }
  return out;
}

absl::Span<const uint8_t> ModelImage(const Observation& observation, const EnvConfig& config) {
  if (!ObservesPixels(config)) return {};
  return observation.pixels;
}

}  // namespace ivg::env
