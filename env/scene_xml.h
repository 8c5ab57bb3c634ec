// The MJCF scene of docs/environment.md, generated from EnvConfig: a Sawyer-kinematics arm of
// primitive geoms, a simplified parallel two-finger gripper, the table, the red and blue
// cubes, an optional yellow distractor and the two cameras.
#ifndef IVG_ENV_SCENE_XML_H_
#define IVG_ENV_SCENE_XML_H_

#include <string>

#include "proto/config.pb.h"

namespace ivg::env {

// Names the environment looks up in the compiled model (the XML and the C++ agree on these).
namespace scene {
inline constexpr int kArmJoints = 7;
inline constexpr const char* kArmJointNames[kArmJoints] = {"j0", "j1", "j2", "j3",
                                                           "j4", "j5", "j6"};
inline constexpr const char* kFingerJointLeft = "finger_left";
inline constexpr const char* kFingerJointRight = "finger_right";
inline constexpr const char* kGripperActuator = "gripper";
inline constexpr const char* kPadGeomLeft = "pad_left";
inline constexpr const char* kPadGeomRight = "pad_right";
inline constexpr const char* kTouchSensorLeft = "touch_left";
inline constexpr const char* kTouchSensorRight = "touch_right";
inline constexpr const char* kTcpSite = "tcp";
inline constexpr const char* kCameraLeft = "front_left";
inline constexpr const char* kCameraRight = "front_right";
inline constexpr const char* kTableGeom = "table";
// Object bodies/joints/geoms are named "<name>", "<name>_joint", "<name>_geom".
inline constexpr const char* kRed = "red";
inline constexpr const char* kBlue = "blue";
inline constexpr const char* kDistractor = "yellow";
// The table top is the plane z = 0; the table spans |x| <= length/2... see TableHalfExtents.
inline constexpr double kTableTopZ = 0.0;
// Finger stroke (m): each finger slides 0 (closed) .. 42.5 mm (open).
inline constexpr double kFingerStroke = 0.0425;
// Home pose of the published Sawyer description; the IK seed.
inline constexpr double kHomePose[kArmJoints] = {0, -1.18, 0, 2.18, 0, 0.57, 3.3161};
// Robot base position (world). The table is centred at the origin with its long side along
// y; the robot stands behind it (negative x), the cameras in front (positive x).
inline constexpr double kBaseX = -0.68;
inline constexpr double kBaseZ = -0.05;
}  // namespace scene

// The MJCF text for `config` (validated by the caller).
std::string BuildSceneXml(const EnvConfig& config);

}  // namespace ivg::env

#endif  // IVG_ENV_SCENE_XML_H_
