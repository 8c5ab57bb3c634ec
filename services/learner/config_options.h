// ExperimentConfig (proto/config.proto) -> the learner core's plain option structs.
#ifndef IVG_SERVICES_LEARNER_CONFIG_OPTIONS_H_
#define IVG_SERVICES_LEARNER_CONFIG_OPTIONS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "proto/config.pb.h"
#include "services/learner/core/options.h"

namespace ivg::learner {

// Checks what the core needs beyond the schema's ranges (decoder channels divisible by 4,
// 64x64 images, proprio bounds) and names the field on error.
absl::StatusOr<CoreOptions> CoreOptionsFromConfig(const ExperimentConfig& config);

// Per-dimension bounds that map raw proprioception to [-1, 1]: model.proprio_low/high when
// the config sets them, else the environment's fixed bounds (services/actor/env/
// proprio_scaling.h). The learner and every actor scale with the same bounds.
struct ProprioBounds {
  std::vector<double> low;
  std::vector<double> high;
};
ProprioBounds ProprioBoundsFromConfig(const ExperimentConfig& config);

// M: the number of tasks whose rewards each step carries (1 for a single-task run).
int NumTasks(const ExperimentConfig& config);

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_CONFIG_OPTIONS_H_
