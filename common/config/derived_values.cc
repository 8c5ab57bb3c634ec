#include "common/config/derived_values.h"

#include <algorithm>
#include <cmath>

namespace ivg {

int NumTasks(const ExperimentConfig& config) {
  return config.env().multitask_tasks_size() > 0 ? config.env().multitask_tasks_size() : 1;
}

std::vector<Task> Tasks(const ExperimentConfig& config) {
  std::vector<Task> tasks;
  for (int t : config.env().multitask_tasks()) tasks.push_back(static_cast<Task>(t));
  if (tasks.empty()) tasks.push_back(config.env().task());
  return tasks;
}

Task TaskAt(const ExperimentConfig& config, int task_index) {
  return config.env().multitask_tasks_size() > 0
             ? static_cast<Task>(config.env().multitask_tasks(task_index))
             : config.env().task();
}

int SequenceLength(const ExperimentConfig& config) {
  return config.learner().burn_in() + config.learner().model_rollout();
}

int ItemStride(const ExperimentConfig& config) {
  const int stride = config.replay().item_stride();
  return stride > 0 ? stride : SequenceLength(config);
}

double SamplesPerInsert(const ExperimentConfig& config) {
  const ReplayConfig& r = config.replay();
  if (r.replay_ratio() > 0) {
    return r.replay_ratio() * ItemStride(config) / static_cast<double>(SequenceLength(config));
  }
  return r.samples_per_insert();
}

double ActorExplorationScale(const ExperimentConfig& config, int actor_id) {
  const int actors = config.actor().num_actors();
  if (actors <= 1 || actor_id <= 0) return 1.0;
  const double position = std::min(1.0, actor_id / static_cast<double>(actors - 1));
  return std::pow(config.actor().min_exploration_scale(), position);
}

}  // namespace ivg
