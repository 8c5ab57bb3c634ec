// Values that follow from an ExperimentConfig and that several processes need: computed
// here once, so the actor, learner, replay, launcher and policy code agree on them.
#ifndef IVG_COMMON_CONFIG_DERIVED_VALUES_H_
#define IVG_COMMON_CONFIG_DERIVED_VALUES_H_

#include <vector>

#include "proto/config.pb.h"

namespace ivg {

// M: the number of tasks whose rewards each step carries (1 for a single-task run).
int NumTasks(const ExperimentConfig& config);

// The tasks of the run in task-id order: env.multitask_tasks, or env.task alone.
std::vector<Task> Tasks(const ExperimentConfig& config);

// The task with id `task_index` in [0, NumTasks(config)).
Task TaskAt(const ExperimentConfig& config, int task_index);

// H + K: the steps of one replay item and one learner sequence (burn-in + model rollout).
int SequenceLength(const ExperimentConfig& config);

// Steps between the starts of consecutive items of an episode (replay.item_stride, 0 = L).
int ItemStride(const ExperimentConfig& config);

// The rate limiter's samples per inserted item: replay.samples_per_insert, or the one that
// replay.replay_ratio (sampled steps per inserted step) implies, ratio * stride / L.
// 0 = sampling is not tied to inserts.
double SamplesPerInsert(const ExperimentConfig& config);

// The factor on the policy's std with which actor `actor_id` samples its actions:
// actor.min_exploration_scale^(actor_id / (num_actors - 1)), 1 for a single actor, and ids
// beyond num_actors - 1 (an actor started by hand) held at the minimum.
double ActorExplorationScale(const ExperimentConfig& config, int actor_id);

}  // namespace ivg

#endif  // IVG_COMMON_CONFIG_DERIVED_VALUES_H_
