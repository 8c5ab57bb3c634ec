// ExperimentConfig (proto/config.proto) -> the learner core's plain option structs.
#ifndef IVG_SERVICES_LEARNER_CONFIG_OPTIONS_H_
#define IVG_SERVICES_LEARNER_CONFIG_OPTIONS_H_

#include "absl/status/statusor.h"
#include "proto/config.pb.h"
#include "services/learner/core/options.h"

namespace ivg::learner {

// Checks what the core needs beyond the schema's ranges (decoder channels divisible by 4,
// 64x64 images, proprio bounds) and names the field on error.
absl::StatusOr<CoreOptions> CoreOptionsFromConfig(const ExperimentConfig& config);

// M: the number of tasks whose rewards each step carries (1 for a single-task run).
int NumTasks(const ExperimentConfig& config);

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_CONFIG_OPTIONS_H_
