// Whether an episode succeeded: its return above the task's success return (eval.* in the
// config, given per 200 steps and scaled with the episode length). The actors count
// successes of their behaviour episodes with it, the evaluator of its deterministic ones.
#ifndef IVG_SERVICES_ACTOR_EPISODE_SUCCESS_H_
#define IVG_SERVICES_ACTOR_EPISODE_SUCCESS_H_

#include "proto/config.pb.h"

namespace ivg::actor {

// The success return of `task` for episodes of env.episode_steps steps.
double SuccessReturn(const ExperimentConfig& config, Task task);

inline bool IsSuccess(const ExperimentConfig& config, Task task, double episode_return) {
  return episode_return > SuccessReturn(config, task);
}

}  // namespace ivg::actor

#endif  // IVG_SERVICES_ACTOR_EPISODE_SUCCESS_H_
