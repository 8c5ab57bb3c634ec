#include "services/param_server/parameter_schema_from_config.h"

#include <exception>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "model/config/model_config.h"
#include "model/core/networks.h"

namespace ivg::param_server {

absl::StatusOr<ParameterSchema> ParameterSchemaFromConfig(const ExperimentConfig& config) {
  IVG_ASSIGN_OR_RETURN(model::CoreOptions core, model::CoreOptionsFromConfig(config));
  ParameterSchema::Group actor, model;
  try {
    model::IvgModel networks(core.model);
    for (const auto& item : networks->named_parameters(/*recurse=*/true)) {
      const std::string& name = item.key();
      // The target copies are the learner's own; they are never published.
      if (absl::StartsWith(name, "target_")) continue;
      TensorSpec spec{DTYPE_FLOAT32, item.value().sizes().vec()};
      const bool actor_tensor = model::IsActorParameter(name, core.loss.policy_algorithm);
      (actor_tensor ? actor : model).emplace(name, std::move(spec));
    }
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(
        absl::StrCat("building the networks for the Publish schema: ", error.what()));
  }
  return ParameterSchema(std::move(actor), std::move(model));
}

}  // namespace ivg::param_server
