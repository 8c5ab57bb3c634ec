// The reward terms of the paper's appendix D.1/D.3 (docs/environment.md "Reward terms") as pure
// functions of plain numbers, so tests can check exact values and tasks compose them.
#ifndef IVG_ENV_REWARD_TERMS_H_
#define IVG_ENV_REWARD_TERMS_H_

#include <array>

#include "proto/config.pb.h"

namespace ivg::env {

using Vec3 = std::array<double, 3>;

double Distance(const Vec3& a, const Vec3& b);

// tol(v, eps, r) = 1 if |v| < eps, else 1 - tanh^2(atanh(sqrt(0.95)) * |v| / r);
// 0.05 at |v| = r. `margin` must be > 0.
double Tol(double value, double eps, double margin);

// lin(v, lo, hi) = 0 below lo, 1 above hi, linear in between. Requires hi > lo.
double Lin(double value, double lo, double hi);

// REACH(O) = tol(d(TCP, O), reach_tolerance, reach_margin).
double Reach(const Vec3& tcp, const Vec3& object, const RewardConfig& config);

// GRASP is the binary grasp signal; NOTGRASP = 1 - GRASP.
double Grasp(bool grasp);
double NotGrasp(bool grasp);

// HEIGHT(O, x) = lin(z_O - z_O_rest, height_low, height_high).
double Height(double object_z, double rest_z, const RewardConfig& config);

// LIFT(O) = REACH(O) + 0.5 * (GRASP + HEIGHT(O)); in [0, 2].
double Lift(const Vec3& tcp, const Vec3& object, double rest_z, bool grasp,
            const RewardConfig& config);

// ABOVE(O1, O2) = tol(d(O1, top(O2)), above_tolerance, above_margin) * HEIGHT(O1), with
// top(O2) one cube side above O2's centre ([choice]).
double Above(const Vec3& object, double rest_z, const Vec3& base, double cube_side,
             const RewardConfig& config);

// STACKED(O1, O2) = ABOVE(O1, O2) * NOTGRASP.
double Stacked(const Vec3& object, double rest_z, const Vec3& base, double cube_side, bool grasp,
               const RewardConfig& config);

// STACK(O1, O2) = LIFT(O1) while HEIGHT(O1) <= stack_height_switch, else STACKED(O1, O2).
double Stack(const Vec3& tcp, const Vec3& object, double rest_z, const Vec3& base, double cube_side,
             bool grasp, const RewardConfig& config);

// MATCH_POSITIONS = tol(d(red, t1)) + tol(d(blue, t2)); targets lie on the table surface
// at the objects' resting height (`red_target`, `blue_target` given in world coordinates).
double MatchPositions(const Vec3& red, const Vec3& red_target, const Vec3& blue,
                      const Vec3& blue_target, const RewardConfig& config);

// MOVE(O) = tol(| |v_O| - move_target_speed |, move_tolerance, move_margin) ([choice]).
double Move(const Vec3& object_linear_velocity, const RewardConfig& config);

}  // namespace ivg::env

#endif  // IVG_ENV_REWARD_TERMS_H_
