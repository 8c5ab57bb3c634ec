#include "env/scene_xml.h"

#include <array>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ivg::env {
namespace {

using V3 = std::array<double, 3>;

V3 Normalize(const V3& v) {
  const double n = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  return {v[0] / n, v[1] / n, v[2] / n};
}
V3 Cross(const V3& a, const V3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

// A fixed world camera at `pos` looking at `target` (MuJoCo cameras look along their -z,
// with x to the right and y up).
std::string Camera(const char* name, const V3& pos, const V3& target, double fovy) {
  const V3 forward = Normalize({target[0] - pos[0], target[1] - pos[1], target[2] - pos[2]});
  const V3 right = Normalize(Cross(forward, {0, 0, 1}));
  const V3 up = Cross(right, forward);
  return absl::StrFormat(
      "    <camera name=\"%s\" pos=\"%g %g %g\" xyaxes=\"%g %g %g %g %g %g\" fovy=\"%g\"/>\n", name,
      pos[0], pos[1], pos[2], right[0], right[1], right[2], up[0], up[1], up[2], fovy);
}

std::string Cube(const char* name, double side, double density, const char* rgba) {
  return absl::StrFormat(
      "    <body name=\"%s\" pos=\"0 0 %g\">\n"
      "      <freejoint name=\"%s_joint\"/>\n"
      "      <geom name=\"%s_geom\" class=\"object\" type=\"box\" size=\"%g %g %g\" "
      "density=\"%g\" rgba=\"%s\"/>\n"
      "    </body>\n",
      name, side / 2, name, name, side / 2, side / 2, side / 2, density, rgba);
}

std::string Ball(const char* name, double diameter, double density, const char* rgba) {
  return absl::StrFormat(
      "    <body name=\"%s\" pos=\"0 0 %g\">\n"
      "      <freejoint name=\"%s_joint\"/>\n"
      "      <geom name=\"%s_geom\" class=\"object\" type=\"sphere\" size=\"%g\" "
      "density=\"%g\" rgba=\"%s\"/>\n"
      "    </body>\n",
      name, diameter / 2, name, name, diameter / 2, density, rgba);
}

}  // namespace

std::string BuildSceneXml(const EnvConfig& config) {
  const int size = config.image_size();
  const bool fast = config.fast_render();
  const double half_x = config.table_width() / 2;   // depth, towards the robot
  const double half_y = config.table_length() / 2;  // long side, left-right

  std::string xml;
  absl::StrAppend(&xml, "<mujoco model=\"ivg_sawyer\">\n",
                  "  <compiler angle=\"radian\" autolimits=\"true\"/>\n");
  absl::StrAppendFormat(&xml,
                        "  <option timestep=\"%g\" integrator=\"implicit\" cone=\"elliptic\" "
                        "impratio=\"5\"/>\n",
                        config.physics_timestep());
  // Offscreen buffer wide enough for both cameras side by side (one render pass).
  absl::StrAppendFormat(
      &xml,
      "  <visual>\n"
      "    <global offwidth=\"%d\" offheight=\"%d\"/>\n"
      "    <quality shadowsize=\"0\" offsamples=\"%d\" numslices=\"%d\" numstacks=\"%d\" "
      "numquads=\"1\"/>\n"
      "    <headlight ambient=\"0.45 0.45 0.45\" diffuse=\"0.5 0.5 0.5\" specular=\"0 0 0\"/>\n"
      "    <rgba haze=\"0.15 0.2 0.25 1\"/>\n"
      "  </visual>\n",
      2 * size, size, fast ? 0 : 4, fast ? 8 : 28, fast ? 4 : 16);
  absl::StrAppendFormat(
      &xml,
      "  <default>\n"
      "    <joint axis=\"0 0 1\"/>\n"
      "    <geom contype=\"2\" conaffinity=\"1\" rgba=\"0.25 0.25 0.27 1\" "
      "solref=\"0.01 1\"/>\n"
      "    <default class=\"large\">\n"
      "      <joint frictionloss=\"0.3\" armature=\"1\" damping=\"0.1\"/>\n"
      "      <general gaintype=\"fixed\" biastype=\"affine\" gainprm=\"800\" "
      "biasprm=\"0 -800 -80\" forcelimited=\"true\" forcerange=\"-80 80\"/>\n"
      "    </default>\n"
      "    <default class=\"medium\">\n"
      "      <joint frictionloss=\"0.3\" armature=\"1\" damping=\"0.1\"/>\n"
      "      <general gaintype=\"fixed\" biastype=\"affine\" gainprm=\"800\" "
      "biasprm=\"0 -800 -80\" forcelimited=\"true\" forcerange=\"-40 40\"/>\n"
      "    </default>\n"
      "    <default class=\"small\">\n"
      "      <joint frictionloss=\"0.1\" armature=\"1\" damping=\"0.1\"/>\n"
      "      <general gaintype=\"fixed\" biastype=\"affine\" gainprm=\"500\" "
      "biasprm=\"0 -500 -50\" forcelimited=\"true\" forcerange=\"-9 9\"/>\n"
      "    </default>\n"
      "    <default class=\"object\">\n"
      "      <geom contype=\"1\" conaffinity=\"1\" condim=\"4\" friction=\"1 0.01 0.0001\"/>\n"
      "    </default>\n"
      "    <default class=\"pad\">\n"
      "      <geom condim=\"4\" friction=\"%g 0.02 0.0001\" rgba=\"0.1 0.1 0.1 1\"/>\n"
      "    </default>\n"
      "  </default>\n",
      config.finger_friction());

  absl::StrAppend(&xml, "  <worldbody>\n");
  absl::StrAppend(&xml,
                  "    <light directional=\"true\" castshadow=\"false\" pos=\"0 0 2\" "
                  "dir=\"0.2 0.1 -1\" diffuse=\"0.4 0.4 0.4\"/>\n");
  // The table top is the plane z = 0; the table is one box reaching down to the floor.
  absl::StrAppendFormat(&xml,
                        "    <geom name=\"%s\" type=\"box\" pos=\"0 0 -0.4\" size=\"%g %g 0.4\" "
                        "contype=\"1\" conaffinity=\"1\" rgba=\"0.75 0.7 0.6 1\"/>\n",
                        scene::kTableGeom, half_x, half_y);
  absl::StrAppend(&xml,
                  "    <geom name=\"floor\" type=\"plane\" pos=\"0 0 -0.8\" size=\"2 2 0.1\" "
                  "contype=\"0\" conaffinity=\"0\" rgba=\"0.4 0.42 0.45 1\"/>\n");
  absl::StrAppend(&xml, Camera(scene::kCameraLeft, {0.62, -0.52, 0.58}, {-0.06, 0.0, 0.1}, 48));
  absl::StrAppend(&xml, Camera(scene::kCameraRight, {0.62, 0.52, 0.58}, {-0.06, 0.0, 0.1}, 48));

  // The arm: the published Sawyer chain (docs/environment.md table), primitive geoms.
  absl::StrAppendFormat(&xml, "    <body name=\"base\" pos=\"%g 0 %g\">\n", scene::kBaseX,
                        scene::kBaseZ);
  absl::StrAppend(
      &xml,
      "      <inertial pos=\"0 0 0\" mass=\"2.0687\" diaginertia=\"0.01 0.01 0.01\"/>\n"
      "      <geom type=\"cylinder\" size=\"0.09 0.04\" pos=\"0 0 0.04\" contype=\"0\" "
      "conaffinity=\"0\"/>\n"
      "      <body name=\"l0\" pos=\"0 0 0.08\">\n"
      "        <joint name=\"j0\" class=\"large\" range=\"-3.0503 3.0503\"/>\n"
      "        <geom type=\"capsule\" fromto=\"0 0 -0.005 0 0 0.25\" size=\"0.07\" "
      "mass=\"5.3213\" rgba=\"0.6 0.62 0.65 1\"/>\n"
      "        <body name=\"l1\" pos=\"0.081 0.05 0.237\" quat=\"1 -1 1 1\">\n"
      "          <joint name=\"j1\" class=\"large\" range=\"-3.8095 2.2736\"/>\n"
      "          <geom type=\"capsule\" fromto=\"0 0 -0.06 0 0 0.13\" size=\"0.068\" "
      "mass=\"4.505\"/>\n"
      "          <body name=\"l2\" pos=\"0 -0.14 0.1425\" quat=\"1 1 0 0\">\n"
      "            <joint name=\"j2\" class=\"medium\" range=\"-3.0426 3.0426\"/>\n"
      "            <geom type=\"capsule\" fromto=\"0 0 -0.15 0 0 0.26\" size=\"0.055\" "
      "mass=\"1.745\" rgba=\"0.6 0.62 0.65 1\"/>\n"
      "            <body name=\"l3\" pos=\"0 -0.042 0.26\" quat=\"1 -1 0 0\">\n"
      "              <joint name=\"j3\" class=\"medium\" range=\"-3.0439 3.0439\"/>\n"
      "              <geom type=\"capsule\" fromto=\"0 0 -0.115 0 0 0.03\" size=\"0.055\" "
      "mass=\"2.5097\"/>\n"
      "              <body name=\"l4\" pos=\"0 -0.125 -0.1265\" quat=\"1 1 0 0\">\n"
      "                <joint name=\"j4\" class=\"small\" range=\"-2.9761 2.9761\"/>\n"
      "                <geom type=\"capsule\" fromto=\"0 0 -0.13 0 0 0.27\" size=\"0.045\" "
      "mass=\"1.1136\" rgba=\"0.6 0.62 0.65 1\"/>\n"
      "                <body name=\"l5\" pos=\"0 0.031 0.275\" quat=\"1 -1 0 0\">\n"
      "                  <joint name=\"j5\" class=\"small\" range=\"-2.9761 2.9761\"/>\n"
      "                  <geom type=\"capsule\" fromto=\"0 0 -0.02 0 0 0.1\" size=\"0.045\" "
      "mass=\"0.78125\"/>\n"
      "                  <geom type=\"capsule\" fromto=\"0 0 0.105 0 -0.082 0.105\" "
      "size=\"0.045\" mass=\"0.78125\"/>\n"
      "                  <body name=\"l6\" pos=\"0 -0.11 0.1053\" "
      "quat=\"0.0616248 0.06163 -0.704416 0.704416\">\n"
      "                    <joint name=\"j6\" class=\"small\" range=\"-4.7124 4.7124\"/>\n"
      "                    <geom type=\"cylinder\" size=\"0.045 0.02\" mass=\"0.3292\" "
      "rgba=\"0.6 0.62 0.65 1\"/>\n");
  // The gripper: palm, two fingers on slide joints (0 = closed, stroke = open) coupled by an
  // equality constraint; pads carry the friction and the touch sensors.
  absl::StrAppendFormat(
      &xml,
      "                    <body name=\"gripper\" pos=\"0 0 0.0245\" quat=\"0 0 0 1\">\n"
      "                      <geom type=\"box\" size=\"0.025 0.06 0.0125\" pos=\"0 0 0.0325\" "
      "mass=\"0.4\" rgba=\"0.15 0.15 0.15 1\"/>\n"
      "                      <site name=\"%s\" pos=\"0 0 0.1\" size=\"0.005\" group=\"4\"/>\n"
      "                      <body name=\"finger_left_body\" pos=\"0 0 0.045\">\n"
      "                        <joint name=\"%s\" type=\"slide\" axis=\"0 1 0\" "
      "range=\"0 %g\" damping=\"2\" armature=\"0.01\"/>\n"
      "                        <geom name=\"%s\" class=\"pad\" type=\"box\" size=\"0.011 0.006 "
      "0.0375\" pos=\"0 0.006 0.0375\" mass=\"0.05\"/>\n"
      "                        <site name=\"pad_left_site\" type=\"box\" size=\"0.012 0.0075 "
      "0.0385\" pos=\"0 0.006 0.0375\" group=\"4\"/>\n"
      "                      </body>\n"
      "                      <body name=\"finger_right_body\" pos=\"0 0 0.045\">\n"
      "                        <joint name=\"%s\" type=\"slide\" axis=\"0 -1 0\" "
      "range=\"0 %g\" damping=\"2\" armature=\"0.01\"/>\n"
      "                        <geom name=\"%s\" class=\"pad\" type=\"box\" size=\"0.011 0.006 "
      "0.0375\" pos=\"0 -0.006 0.0375\" mass=\"0.05\"/>\n"
      "                        <site name=\"pad_right_site\" type=\"box\" size=\"0.012 0.0075 "
      "0.0385\" pos=\"0 -0.006 0.0375\" group=\"4\"/>\n"
      "                      </body>\n"
      "                    </body>\n"
      "                  </body>\n"
      "                </body>\n"
      "              </body>\n"
      "            </body>\n"
      "          </body>\n"
      "        </body>\n"
      "      </body>\n"
      "    </body>\n",
      scene::kTcpSite, scene::kFingerJointLeft, scene::kFingerStroke, scene::kPadGeomLeft,
      scene::kFingerJointRight, scene::kFingerStroke, scene::kPadGeomRight);

  const double density = config.cube_density();
  absl::StrAppend(&xml, Cube(scene::kRed, config.cube_side(), density, "0.85 0.1 0.1 1"));
  absl::StrAppend(&xml, Cube(scene::kBlue, config.cube_side(), density, "0.1 0.2 0.85 1"));
  if (config.distractor() == DISTRACTOR_YELLOW_CUBE) {
    absl::StrAppend(
        &xml, Cube(scene::kDistractor, config.distractor_cube_side(), density, "0.9 0.85 0.1 1"));
  } else if (config.distractor() == DISTRACTOR_YELLOW_BALL) {
    absl::StrAppend(&xml, Ball(scene::kDistractor, config.distractor_ball_diameter(), density,
                               "0.9 0.85 0.1 1"));
  }
  absl::StrAppend(&xml, "  </worldbody>\n");

  absl::StrAppendFormat(&xml,
                        "  <equality>\n"
                        "    <joint joint1=\"%s\" joint2=\"%s\" polycoef=\"0 1 0 0 0\"/>\n"
                        "  </equality>\n",
                        scene::kFingerJointLeft, scene::kFingerJointRight);
  absl::StrAppend(&xml, "  <actuator>\n");
  static constexpr const char* kClasses[scene::kArmJoints] = {"large", "large", "medium", "medium",
                                                              "small", "small", "small"};
  static constexpr double kRanges[scene::kArmJoints] = {3.0503, 0,      3.0426, 3.0439,
                                                        2.9761, 2.9761, 4.7124};
  for (int i = 0; i < scene::kArmJoints; ++i) {
    const double lo = i == 1 ? -3.8095 : -kRanges[i];
    const double hi = i == 1 ? 2.2736 : kRanges[i];
    absl::StrAppendFormat(&xml,
                          "    <general name=\"a%d\" class=\"%s\" joint=\"%s\" "
                          "ctrllimited=\"true\" ctrlrange=\"%g %g\"/>\n",
                          i, kClasses[i], scene::kArmJointNames[i], lo, hi);
  }
  absl::StrAppendFormat(&xml,
                        "    <general name=\"%s\" joint=\"%s\" ctrllimited=\"true\" "
                        "ctrlrange=\"0 %g\" gaintype=\"fixed\" biastype=\"affine\" "
                        "gainprm=\"300\" biasprm=\"0 -300 -10\" forcelimited=\"true\" "
                        "forcerange=\"-20 20\"/>\n",
                        scene::kGripperActuator, scene::kFingerJointLeft, scene::kFingerStroke);
  absl::StrAppend(&xml, "  </actuator>\n");
  absl::StrAppendFormat(&xml,
                        "  <sensor>\n"
                        "    <touch name=\"%s\" site=\"pad_left_site\"/>\n"
                        "    <touch name=\"%s\" site=\"pad_right_site\"/>\n"
                        "  </sensor>\n",
                        scene::kTouchSensorLeft, scene::kTouchSensorRight);
  absl::StrAppend(&xml, "</mujoco>\n");
  return xml;
}

}  // namespace ivg::env
