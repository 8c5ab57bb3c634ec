// The tasks this environment implements, one row each (docs/environment.md, "Tasks"): its
// name, reward, target object, success return, largest step reward and scripted controller.
// Everything that needs to know about a task (the environment's reward, the actors' and the
// evaluator's success count, the evaluator's target approach, video and scripted baseline, the
// viewer, the gradient probe) reads its row here, resolved once from the Task enum; adding a
// task is one row (with its reward terms and controller).
#ifndef IVG_ENV_TASK_TABLE_H_
#define IVG_ENV_TASK_TABLE_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "env/reward_state.h"
#include "env/sawyer_env.h"
#include "proto/config.pb.h"

namespace ivg::env {

class ScriptedTaskPolicy;  // scripted_policies.h

struct TaskSpec {
  Task task = TASK_UNSPECIFIED;
  // The paper's name ("Reach-R").
  const char* name = "";
  // The reward after a control step (reward_terms.h composed over the scene's snapshot).
  double (*reward)(const RewardState& state, const RewardConfig& config) = nullptr;
  // The object whose distance from the TCP the reward starts with (Reach, Lift); none for
  // tasks with two objects or no single target (Stack, Match-Positions, Move).
  std::optional<ObjectId> target_object;
  // The success return per 200 control steps (eval.*_success_return).
  double (*success_return_per_200)(const EvalConfig& eval) = nullptr;
  // The largest reward one step pays (Reach and Move 1; Lift, Stack and Match-Positions 2).
  double max_step_reward = 1;
  // A fresh controller that solves the task from the simulator state (the evaluator's
  // ceiling, the viewer's demonstrations). `reward` gives Match-Positions its targets.
  std::unique_ptr<ScriptedTaskPolicy> (*scripted)(const RewardConfig& reward) = nullptr;
};

// Every row, in the Task enum's order.
absl::Span<const TaskSpec> AllTasks();

// The row of `task`; InvalidArgument naming the task when this environment does not
// implement it.
absl::StatusOr<const TaskSpec*> FindTask(Task task);

// The row of a task FindTask accepted (SawyerEnv::Create checks every task of its config);
// any other task is a programming error and stops the process with its name.
const TaskSpec& TaskSpecOf(Task task);

// The success return of `task` for episodes of env.episode_steps steps: the per-200-step
// figure scaled with the episode length. The actors count their behaviour episodes'
// successes with it, the evaluator its deterministic ones.
double SuccessReturn(const TaskSpec& task, const ExperimentConfig& config);
inline bool IsSuccess(const TaskSpec& task, const ExperimentConfig& config,
                      double episode_return) {
  return episode_return > SuccessReturn(task, config);
}

}  // namespace ivg::env

#endif  // IVG_ENV_TASK_TABLE_H_
