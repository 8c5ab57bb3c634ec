// Fixed per-dimension bounds of the 17 proprioception features and their scaling to [-1, 1]
// (ALGORITHM.md, "Pre-processing"). Header-only and free of MuJoCo: the learner process
// (services/learner/config_options.h, ProprioBoundsFromConfig), the actors and the policy
// service all scale with these bounds unless model.proprio_low/high override them; the
// replay stores raw units.
#ifndef IVG_SERVICES_ACTOR_ENV_PROPRIO_SCALING_H_
#define IVG_SERVICES_ACTOR_ENV_PROPRIO_SCALING_H_

#include <algorithm>
#include <array>
#include <cstddef>

namespace ivg::env {

inline constexpr std::size_t kProprioDims = 17;

// Joint ranges from the Sawyer table of ENVIRONMENT.md; joint speeds [choice] +-3 rad/s
// (the servos rarely exceed 2); finger opening 0..42.5 mm; finger speed [choice] +-0.2 m/s
// (a full stroke in 0.5 s is 0.085 m/s); grasp 0..1.
inline constexpr std::array<float, kProprioDims> kProprioLow = {
    -3.0503f, -3.8095f, -3.0426f, -3.0439f, -2.9761f, -2.9761f, -4.7124f,  // joint positions
    -3.0f,    -3.0f,    -3.0f,    -3.0f,    -3.0f,    -3.0f,    -3.0f,     // joint velocities
    0.0f,     -0.2f,    0.0f};                                           // finger pos, vel, grasp
inline constexpr std::array<float, kProprioDims> kProprioHigh = {
    3.0503f, 2.2736f, 3.0426f, 3.0439f, 2.9761f, 2.9761f, 4.7124f,
    3.0f,    3.0f,    3.0f,    3.0f,    3.0f,    3.0f,    3.0f,
    0.0425f, 0.2f,    1.0f};

// Maps `raw` from [low, high] to [-1, 1], clipping values outside the bounds (the learner's
// batch conversion computes the same on tensors).
inline float ScaleToUnitRange(float raw, double low, double high) {
  const float scaled = static_cast<float>(2.0 * (raw - low) / (high - low) - 1.0);
  return std::clamp(scaled, -1.0f, 1.0f);
}

// Dimension i scaled with the fixed bounds above.
inline float ScaleProprio(std::size_t i, float raw) {
  return ScaleToUnitRange(raw, kProprioLow[i], kProprioHigh[i]);
}

}  // namespace ivg::env

#endif  // IVG_SERVICES_ACTOR_ENV_PROPRIO_SCALING_H_
