// Loading and validating the experiment configuration (proto/config.proto).
//
// A config comes from a textproto (.textproto/.pbtxt/.txtpb) or JSON (.json) file, then
// per-field overrides "path.to.field=value" (from the command line: `--set a.b=1`), then
// validation: ranges declared with (ivg.range) in the schema and cross-field rules. Every
// error names the field and where it came from (the file, or "override 'a.b=1'"), so a
// typo stops a process at start-up instead of training with a silent default.
#ifndef IVG_COMMON_CONFIG_CONFIG_LOADER_H_
#define IVG_COMMON_CONFIG_CONFIG_LOADER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "proto/config.pb.h"

namespace ivg {

// Parses `path` into `message` (cleared first). Textproto unless the name ends in .json.
absl::Status ParseConfigFile(const std::string& path, google::protobuf::Message* message);

// Parses text (textproto) or JSON content; `source` names it in errors.
absl::Status ParseConfigText(const std::string& content, bool is_json, const std::string& source,
                             google::protobuf::Message* message);

// Applies one override "a.b.c=value". The value uses textproto syntax for the field's type:
// numbers, true/false, enum names, strings (quotes optional), [x, y] for repeated fields
// (which replace the whole list) and { ... } for messages.
absl::Status ApplyOverride(const std::string& assignment, google::protobuf::Message* message);

// Checks every set and default scalar field against its (ivg.range) and (ivg.required_nonempty)
// options, recursively. `source` names the config in errors.
absl::Status ValidateFieldOptions(const google::protobuf::Message& message,
                                  const std::string& source);

// ValidateFieldOptions plus ExperimentConfig's cross-field rules (min <= max pairs, task
// lists, sequence lengths).
absl::Status ValidateExperimentConfig(const ExperimentConfig& config, const std::string& source);

// Secrets from the environment, where deployments keep them (docker-compose's env_file,
// a Kubernetes Secret): IVG_PUBLISH_TOKEN -> cluster.publish_token and IVG_REDIS_PASSWORD ->
// replay.redis_password, when set and non-empty. The environment, not a flag: every local
// user can read a process's command line, only its owner its environment.
void ApplySecretsFromEnvironment(ExperimentConfig* config);

// File (may be empty: embedded defaults) + overrides + secrets from the environment +
// validation.
absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path,
                                                      const std::vector<std::string>& overrides);

// Removes every `--set a.b=v` / `--set=a.b=v` from argv (so the flag parser does not see
// them) and returns the assignments in order.
std::vector<std::string> ExtractConfigOverrides(int* argc, char** argv);

// The config as textproto, as written into run directories and printed at start-up.
std::string ConfigToText(const google::protobuf::Message& message);

}  // namespace ivg

#endif  // IVG_COMMON_CONFIG_CONFIG_LOADER_H_
