// The Publish schema of the networks `config.model` describes (LibTorch behind this header).
#ifndef IVG_SERVICES_PARAM_SERVER_PARAMETER_SCHEMA_FROM_CONFIG_H_
#define IVG_SERVICES_PARAM_SERVER_PARAMETER_SCHEMA_FROM_CONFIG_H_

#include "absl/status/statusor.h"
#include "proto/config.pb.h"
#include "services/param_server/parameter_schema.h"

namespace ivg::param_server {

// Builds the learner's model once and records every parameter under the name the learner
// publishes it with (encoder.* and policy.* in the actor group, the rest but the target
// copies in the model group), all float32 as the learner sends them.
absl::StatusOr<ParameterSchema> ParameterSchemaFromConfig(const ExperimentConfig& config);

}  // namespace ivg::param_server

#endif  // IVG_SERVICES_PARAM_SERVER_PARAMETER_SCHEMA_FROM_CONFIG_H_
