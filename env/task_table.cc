#include "env/task_table.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "env/reward_terms.h"
#include "env/scripted_policies.h"
#include "glog/logging.h"

namespace ivg::env {
namespace {

// The snapshot of the red or the blue cube (the objects the rewards name).
const ObjectSnapshot& Cube(const RewardState& s, ObjectId object) {
  return object == ObjectId::kRed ? s.red : s.blue;
}

// Rewards (docs/environment.md, "Tasks"): the paper's terms (reward_terms.h) over the scene.
// REACH(O).
template <ObjectId kObject>
double ReachReward(const RewardState& s, const RewardConfig& c) {
  return Reach(s.tcp, Cube(s, kObject).position, c);
}
// LIFT(O) = REACH(O) + 0.5 (GRASP + HEIGHT(O)).
template <ObjectId kObject>
double LiftReward(const RewardState& s, const RewardConfig& c) {
  const ObjectSnapshot& o = Cube(s, kObject);
  return Lift(s.tcp, o.position, o.rest_z, s.grasp, c);
}
// STACK(O1, O2): O1 on O2.
template <ObjectId kTop, ObjectId kBase>
double StackReward(const RewardState& s, const RewardConfig& c) {
  const ObjectSnapshot& top = Cube(s, kTop);
  return Stack(s.tcp, top.position, top.rest_z, Cube(s, kBase).position, s.cube_side, s.grasp,
               c);
}
// Red to t1, blue to t2, no shaping towards the objects.
double MatchPositionsReward(const RewardState& s, const RewardConfig& c) {
  return MatchPositions(s.red.position, s.red_target, s.blue.position, s.blue_target, c);
}
// MOVE(blue): moving the object at the target speed.
double MoveBlueReward(const RewardState& s, const RewardConfig& c) {
  return Move(s.blue.linear_velocity, c);
}

double ReachSuccess(const EvalConfig& e) { return e.reach_success_return(); }
double LiftSuccess(const EvalConfig& e) { return e.lift_success_return(); }
double StackSuccess(const EvalConfig& e) { return e.stack_success_return(); }
double MatchPositionsSuccess(const EvalConfig& e) { return e.match_positions_success_return(); }
double MoveSuccess(const EvalConfig& e) { return e.move_success_return(); }

// Scripted controllers: Reach and Lift share the lift controller (its approach solves Reach).
template <ObjectId kObject>
std::unique_ptr<ScriptedTaskPolicy> LiftController(const RewardConfig&) {
  return std::make_unique<ScriptedLiftPolicy>(kObject);
}
template <ObjectId kTop, ObjectId kBase>
std::unique_ptr<ScriptedTaskPolicy> StackController(const RewardConfig&) {
  return std::make_unique<ScriptedPlacePolicy>(ScriptedPlacePolicy::Onto(kTop, kBase));
}
std::unique_ptr<ScriptedTaskPolicy> MatchPositionsController(const RewardConfig& reward) {
  return std::make_unique<ScriptedMatchPositionsPolicy>(reward);
}
std::unique_ptr<ScriptedTaskPolicy> MoveBlueController(const RewardConfig&) {
  return std::make_unique<ScriptedMovePolicy>(ObjectId::kBlue);
}

constexpr ObjectId kRed = ObjectId::kRed;
constexpr ObjectId kBlue = ObjectId::kBlue;

const std::array<TaskSpec, 8>& Table() {
  static const std::array<TaskSpec, 8> table = {{
      {REACH_RED, "Reach-R", ReachReward<kRed>, kRed, ReachSuccess, 1.0,
       LiftController<kRed>},
      {REACH_BLUE, "Reach-B", ReachReward<kBlue>, kBlue, ReachSuccess, 1.0,
       LiftController<kBlue>},
      {LIFT_RED, "Lift-R", LiftReward<kRed>, kRed, LiftSuccess, 2.0, LiftController<kRed>},
      {LIFT_BLUE, "Lift-B", LiftReward<kBlue>, kBlue, LiftSuccess, 2.0, LiftController<kBlue>},
      {STACK_RED, "Stack-R", StackReward<kRed, kBlue>, std::nullopt, StackSuccess, 2.0,
       StackController<kRed, kBlue>},
      {STACK_BLUE, "Stack-B", StackReward<kBlue, kRed>, std::nullopt, StackSuccess, 2.0,
       StackController<kBlue, kRed>},
      {MATCH_POSITIONS, "Match-Positions", MatchPositionsReward, std::nullopt,
       MatchPositionsSuccess, 2.0, MatchPositionsController},
      {MOVE_BLUE, "Move-B", MoveBlueReward, std::nullopt, MoveSuccess, 1.0, MoveBlueController},
  }};
  return table;
}

}  // namespace

absl::Span<const TaskSpec> AllTasks() { return Table(); }

absl::StatusOr<const TaskSpec*> FindTask(Task task) {
  for (const TaskSpec& spec : Table()) {
    if (spec.task == task) return &spec;
  }
  return absl::InvalidArgumentError(absl::StrCat("env task ", Task_Name(task), " (",
                                                 static_cast<int>(task),
                                                 ") is not an implemented task"));
}

const TaskSpec& TaskSpecOf(Task task) {
  absl::StatusOr<const TaskSpec*> spec = FindTask(task);
  CHECK(spec.ok()) << spec.status();
  return **spec;
}

double SuccessReturn(const TaskSpec& task, const ExperimentConfig& config) {
  return task.success_return_per_200(config.eval()) * config.env().episode_steps() / 200.0;
}

}  // namespace ivg::env
