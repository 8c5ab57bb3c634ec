// ExperimentConfig (proto/config.proto) -> the model core's plain option structs. Sits
// between proto and the LibTorch-only core, so the learner and the policy code (actors,
// evaluator, live policy service) translate the config the same way without depending on
// each other.
#ifndef IVG_MODEL_CONFIG_MODEL_CONFIG_H_
#define IVG_MODEL_CONFIG_MODEL_CONFIG_H_

#include "absl/status/statusor.h"
#include "model/core/options.h"
#include "model/core/proprio_scaling.h"
#include "proto/config.pb.h"

namespace ivg::model {

// Validates `config` with ValidateExperimentConfig (common/config/config_loader.h: every
// rule lives there, so a config built in code is checked exactly like a loaded file) and
// translates it into the core's options.
absl::StatusOr<CoreOptions> CoreOptionsFromConfig(const ExperimentConfig& config);

// model.proprio_low/high when the config sets them, else the environment's fixed bounds
// (model/core/proprio_scaling.h). The learner and every policy scale with these.
ProprioBounds ProprioBoundsFromConfig(const ExperimentConfig& config);

}  // namespace ivg::model

#endif  // IVG_MODEL_CONFIG_MODEL_CONFIG_H_
