// Proprioception pre-processing (docs/algorithm.md, "Pre-processing"): the fixed per-dimension
// bounds of the 17 proprioception features and the one mapping of raw units to [-1, 1]
// that the learner (sampled batches) and the policy (actors, evaluator, live policy
// service) both apply, so a latent computed by an actor equals the learner's for the same
// frames. The replay stores raw units. LibTorch only.
#ifndef IVG_MODEL_CORE_PROPRIO_SCALING_H_
#define IVG_MODEL_CORE_PROPRIO_SCALING_H_

#include <array>
#include <cstddef>
#include <vector>

#include <ATen/core/Tensor.h>

namespace ivg::model {

inline constexpr std::size_t kProprioDims = 17;

// Joint ranges from the Sawyer table of docs/environment.md; joint speeds [choice] +-3 rad/s
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

// The table-2 features of one object (the environment's object_state block, in its order:
// env/env_spec.h, whose kObjectFeatureSize a test pins to this size): world
// position (m; the table top is z = 0, centred at the origin, 30 x 60 cm), orientation
// quaternion (w, x, y, z), linear velocity (m/s), angular velocity (rad/s), position
// relative to the TCP (m). [choice] Bounds cover the workspace and what a pushed or lifted
// cube does; a cube knocked off the table reads as the bound it passed.
inline constexpr std::size_t kObjectFeatureDims = 16;
inline constexpr std::array<float, kObjectFeatureDims> kObjectFeatureLow = {
    -0.3f, -0.45f, -0.1f,        // position
    -1.0f, -1.0f,  -1.0f, -1.0f,  // quaternion
    -1.0f, -1.0f,  -1.0f,        // linear velocity
    -10.0f, -10.0f, -10.0f,      // angular velocity
    -0.45f, -0.75f, -0.45f};     // offset from the TCP
inline constexpr std::array<float, kObjectFeatureDims> kObjectFeatureHigh = {
    0.3f, 0.45f, 0.4f,
    1.0f, 1.0f,  1.0f, 1.0f,
    1.0f, 1.0f,  1.0f,
    10.0f, 10.0f, 10.0f,
    0.45f, 0.75f, 0.45f};

// Per-dimension bounds that map raw proprioception to [-1, 1]. Both empty: no scaling.
struct ProprioBounds {
  std::vector<double> low;
  std::vector<double> high;
};

// The fixed bounds above when `proprio_size` is the environment's 17, else none.
ProprioBounds DefaultProprioBounds(int proprio_size);

// The bounds of a state observation: the 17 proprioception features, then `objects` blocks of
// the object features above.
ProprioBounds StateObservationBounds(int objects);

// Maps raw proprioception [..., P] (float) from [low, high] to [-1, 1] per dimension,
// clipping values outside the bounds; returns `raw` unchanged when the bounds are empty.
// Throws (c10::Error) when P differs from the bounds' size: callers check shapes first.
at::Tensor ScaleProprio(const at::Tensor& raw, const ProprioBounds& bounds);

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_PROPRIO_SCALING_H_
