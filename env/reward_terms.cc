#include "env/reward_terms.h"

#include <cmath>

namespace ivg::env {

double Distance(const Vec3& a, const Vec3& b) {
  const double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

double Tol(double value, double eps, double margin) {
  const double v = std::fabs(value);
  if (v < eps) return 1.0;
  // atanh(sqrt(0.95)) makes the value exactly 0.05 at |v| = margin.
  static const double kScale = std::atanh(std::sqrt(0.95));
  const double t = std::tanh(kScale * v / margin);
  return 1.0 - t * t;
}

double Lin(double value, double lo, double hi) {
  if (value < lo) return 0.0;
  if (value > hi) return 1.0;
  return (value - lo) / (hi - lo);
}

double Reach(const Vec3& tcp, const Vec3& object, const RewardConfig& config) {
  return Tol(Distance(tcp, object), config.reach_tolerance(), config.reach_margin());
}

double Grasp(bool grasp) { return grasp ? 1.0 : 0.0; }
double NotGrasp(bool grasp) { return grasp ? 0.0 : 1.0; }

double Height(double object_z, double rest_z, const RewardConfig& config) {
  return Lin(object_z - rest_z, config.height_low(), config.height_high());
}

double Lift(const Vec3& tcp, const Vec3& object, double rest_z, bool grasp,
            const RewardConfig& config) {
  return Reach(tcp, object, config) + 0.5 * (Grasp(grasp) + Height(object[2], rest_z, config));
}

double Above(const Vec3& object, double rest_z, const Vec3& base, double cube_side,
             const RewardConfig& config) {
  const Vec3 top = {base[0], base[1], base[2] + cube_side};
  return Tol(Distance(object, top), config.above_tolerance(), config.above_margin()) *
         Height(object[2], rest_z, config);
}

double Stacked(const Vec3& object, double rest_z, const Vec3& base, double cube_side, bool grasp,
               const RewardConfig& config) {
  return Above(object, rest_z, base, cube_side, config) * NotGrasp(grasp);
}

double Stack(const Vec3& tcp, const Vec3& object, double rest_z, const Vec3& base, double cube_side,
             bool grasp, const RewardConfig& config) {
  if (Height(object[2], rest_z, config) <= config.stack_height_switch()) {
    return Lift(tcp, object, rest_z, grasp, config);
  }
  return Stacked(object, rest_z, base, cube_side, grasp, config);
}

double MatchPositions(const Vec3& red, const Vec3& red_target, const Vec3& blue,
                      const Vec3& blue_target, const RewardConfig& config) {
  return Tol(Distance(red, red_target), config.match_tolerance(), config.match_margin()) +
         Tol(Distance(blue, blue_target), config.match_tolerance(), config.match_margin());
}

double Move(const Vec3& v, const RewardConfig& config) {
  const double speed = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  return Tol(speed - config.move_target_speed(), config.move_tolerance(), config.move_margin());
}

}  // namespace ivg::env
