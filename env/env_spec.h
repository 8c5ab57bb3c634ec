// Specs and time steps of the environment, in the style of dm_env / EnvPool.
#ifndef IVG_ENV_ENV_SPEC_H_
#define IVG_ENV_ENV_SPEC_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/config.pb.h"

namespace ivg::env {

inline constexpr int kActionSize = 5;
inline constexpr int kProprioSize = 17;
// Per object: position (3), orientation quaternion w,x,y,z (4), linear velocity (3, world),
// angular velocity (3), position relative to the TCP (3).
inline constexpr int kObjectFeatureSize = 16;

// Action layout. Each entry is a velocity command in [-1, 1], scaled by EnvConfig's maximum
// speeds: TCP x, y, z (m/s, world frame), gripper (+1 closes, -1 opens), wrist rotation about
// the vertical axis (rad/s, counter-clockwise seen from above).
enum ActionIndex { kActionX = 0, kActionY, kActionZ, kActionGripper, kActionWrist };

// Proprioception layout (the paper's table 1).
enum ProprioIndex {
  kProprioJointPos = 0,    // 7 arm joint positions (rad)
  kProprioJointVel = 7,    // 7 arm joint velocities (rad/s)
  kProprioFingerPos = 14,  // finger opening (m, 0 = closed, 0.0425 = open)
  kProprioFingerVel = 15,  // finger velocity (m/s)
  kProprioGrasp = 16,      // 1 when both pads hold the same object
};

struct ArraySpec {
  enum class DType { kUint8, kFloat32 };
  std::string name;
  std::vector<int> shape;
  DType dtype;
  double minimum;
  double maximum;
};

struct EnvSpec {
  EnvConfig config;
  // "pixels": uint8 [6, size, size], front-left RGB then front-right RGB, rows top to bottom.
  ArraySpec pixels;
  // "proprio": float32 [17].
  ArraySpec proprio;
  // "object_state": float32 [num_objects * 16] (red, blue, then the distractor if any).
  ArraySpec object_state;
  // "action": float32 [5] in [-1, 1].
  ArraySpec action;
  // The tasks whose rewards every step reports, in order (one unless multi-task).
  std::vector<Task> tasks;
};

struct Observation {
  // Empty when the environment was created without rendering.
  std::vector<uint8_t> pixels;
  std::array<float, kProprioSize> proprio{};
  std::vector<float> object_state;
};

struct TimeStep {
  Observation observation;
  // Reward of every task of EnvSpec::tasks (0 on the first time step).
  std::vector<float> rewards;
  // Reward of the task this episode executes (rewards[task_index]).
  float reward = 0;
  // Control steps taken in this episode (0 after Reset).
  int step = 0;
  bool first = false;
  // True on the episode's final step; the next call must be Reset.
  bool last = false;
};

}  // namespace ivg::env

#endif  // IVG_ENV_ENV_SPEC_H_
