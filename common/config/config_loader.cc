#include "common/config/config_loader.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/config/derived_values.h"
#include "common/status/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "proto/options.pb.h"

namespace ivg {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Collects the text-format parser's errors with line and column, and quotes the offending
// line: the parser's own message ("Expected integer, got: \"three\"") does not name the field.
class CollectingErrorPrinter : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrorPrinter(const std::string& content)
      : lines_(absl::StrSplit(content, '\n')) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    std::string error = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
    if (line >= 0 && line < static_cast<int>(lines_.size())) {
      absl::StrAppend(&error, " (in '", absl::StripAsciiWhitespace(lines_[line]), "')");
    }
    errors_.push_back(std::move(error));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> lines_;
  std::vector<std::string> errors_;
};

bool IsJsonPath(const std::string& path) { return absl::EndsWith(path, ".json"); }

// Reads a numeric field as double for range checks.
double NumericValue(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return repeated ? reflection->GetRepeatedInt32(message, field, index)
                      : reflection->GetInt32(message, field);
    case FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(repeated ? reflection->GetRepeatedInt64(message, field, index)
                                          : reflection->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? reflection->GetRepeatedUInt32(message, field, index)
                      : reflection->GetUInt32(message, field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(repeated ? reflection->GetRepeatedUInt64(message, field, index)
                                          : reflection->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return repeated ? reflection->GetRepeatedFloat(message, field, index)
                      : reflection->GetFloat(message, field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return repeated ? reflection->GetRepeatedDouble(message, field, index)
                      : reflection->GetDouble(message, field);
    default:
      return 0;
  }
}

bool IsNumeric(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return true;
    default:
      return false;
  }
}

std::string FormatNumber(double value) { return absl::StrCat(value); }

absl::Status CheckRange(const FieldDescriptor* field, double value, const std::string& path,
                        const std::string& source) {
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": field '", path, "' must be finite, got ", FormatNumber(value)));
  }
  if (!field->options().HasExtension(range)) return absl::OkStatus();
  const FieldRange& bounds = field->options().GetExtension(range);
  if (bounds.has_min()) {
    const bool below = bounds.min_exclusive() ? value <= bounds.min() : value < bounds.min();
    if (below) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": field '", path, "' = ", FormatNumber(value), " is out of range: must be ",
          bounds.min_exclusive() ? "> " : ">= ", FormatNumber(bounds.min())));
    }
  }
  if (bounds.has_max() && value > bounds.max()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": field '", path, "' = ", FormatNumber(value),
                     " is out of range: must be <= ", FormatNumber(bounds.max())));
  }
  return absl::OkStatus();
}

absl::Status ValidateRecursive(const Message& message, const std::string& prefix,
                               const std::string& source) {
  const Descriptor* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string path = prefix.empty() ? field->name() : absl::StrCat(prefix, ".", field->name());
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
          IVG_RETURN_IF_ERROR(ValidateRecursive(reflection->GetRepeatedMessage(message, field, j),
                                                absl::StrCat(path, "[", j, "]"), source));
        }
      } else {
        // Unset sub-messages still carry defaults that must be valid.
        IVG_RETURN_IF_ERROR(
            ValidateRecursive(reflection->GetMessage(message, field), path, source));
      }
      continue;
    }
    if (IsNumeric(field)) {
      if (field->is_repeated()) {
        for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
          IVG_RETURN_IF_ERROR(CheckRange(field, NumericValue(message, field, j),
                                         absl::StrCat(path, "[", j, "]"), source));
        }
      } else {
        IVG_RETURN_IF_ERROR(CheckRange(field, NumericValue(message, field, 0), path, source));
      }
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING && !field->is_repeated() &&
        field->options().GetExtension(required_nonempty) &&
        reflection->GetString(message, field).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": field '", path, "' must not be empty"));
    }
  }
  return absl::OkStatus();
}

// Turns "a.b.c=v" into the textproto "a { b { c: v } }", quoting v for string fields.
absl::StatusOr<std::string> OverrideToText(const std::string& assignment,
                                           const Descriptor* root, bool* clears_repeated,
                                           std::vector<const FieldDescriptor*>* path_fields) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "override '", assignment, "' must have the form field.path=value"));
  }
  const std::string path = std::string(absl::StripAsciiWhitespace(assignment.substr(0, eq)));
  std::string value = std::string(absl::StripAsciiWhitespace(assignment.substr(eq + 1)));
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  const Descriptor* descriptor = root;
  std::string open, close;
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field = descriptor->FindFieldByName(parts[i]);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("override '", assignment, "': '",
                                                     descriptor->full_name(),
                                                     "' has no field named '", parts[i], "'"));
    }
    path_fields->push_back(field);
    const bool last = i + 1 == parts.size();
    if (!last) {
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "override '", assignment, "': '", parts[i], "' is not a singular message field"));
      }
      absl::StrAppend(&open, parts[i], " { ");
      close = absl::StrCat(" }", close);
      descriptor = field->message_type();
      continue;
    }
    *clears_repeated = field->is_repeated();
    const bool is_string = field->cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    if (is_string && !field->is_repeated() && !absl::StartsWith(value, "\"") &&
        !absl::StartsWith(value, "'")) {
      value = absl::StrCat("\"", absl::CEscape(value), "\"");
    }
    const std::string separator =
        field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated() ? " "
                                                                                       : ": ";
    absl::StrAppend(&open, parts[i], separator, value);
  }
  return absl::StrCat(open, close);
}

}  // namespace

absl::Status ParseConfigText(const std::string& content, bool is_json, const std::string& source,
                             Message* message) {
  message->Clear();
  if (is_json) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto status = google::protobuf::util::JsonStringToMessage(content, message, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", status.message().as_string()));
    }
    return absl::OkStatus();
  }
  google::protobuf::TextFormat::Parser parser;
  CollectingErrorPrinter errors(content);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(content, message)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", errors.Joined()));
  }
  return absl::OkStatus();
}

absl::Status ParseConfigFile(const std::string& path, Message* message) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("config file '", path, "' cannot be read"));
  std::stringstream content;
  content << file.rdbuf();
  return ParseConfigText(content.str(), IsJsonPath(path), absl::StrCat("config file '", path, "'"),
                         message);
}

absl::Status ApplyOverride(const std::string& assignment, Message* message) {
  bool clears_repeated = false;
  std::vector<const FieldDescriptor*> path_fields;
  IVG_ASSIGN_OR_RETURN(
      std::string text,
      OverrideToText(assignment, message->GetDescriptor(), &clears_repeated, &path_fields));
  if (clears_repeated) {
    // A repeated field given on the command line replaces the list instead of appending.
    Message* owner = message;
    for (size_t i = 0; i + 1 < path_fields.size(); ++i) {
      owner = owner->GetReflection()->MutableMessage(owner, path_fields[i]);
    }
    owner->GetReflection()->ClearField(owner, path_fields.back());
  }
  google::protobuf::TextFormat::Parser parser;
  CollectingErrorPrinter errors(text);
  parser.RecordErrorsTo(&errors);
  if (!parser.MergeFromString(text, message)) {
    return absl::InvalidArgumentError(
        absl::StrCat("override '", assignment, "': ", errors.Joined()));
  }
  return absl::OkStatus();
}

absl::Status ValidateFieldOptions(const Message& message, const std::string& source) {
  return ValidateRecursive(message, "", source);
}

absl::Status ValidateExperimentConfig(const ExperimentConfig& config, const std::string& source) {
  IVG_RETURN_IF_ERROR(ValidateFieldOptions(config, source));
  auto error = [&source](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  const EnvConfig& env = config.env();
  if (env.start_height_min() > env.start_height_max()) {
    return error("field 'env.start_height_min' must be <= 'env.start_height_max'");
  }
  if (env.reward().height_low() >= env.reward().height_high()) {
    return error("field 'env.reward.height_low' must be < 'env.reward.height_high'");
  }
  if (env.task() == TASK_UNSPECIFIED && env.multitask_tasks_size() == 0) {
    return error("field 'env.task' must name a task (or set 'env.multitask_tasks')");
  }
  for (int i = 0; i < env.multitask_tasks_size(); ++i) {
    if (env.multitask_tasks(i) == TASK_UNSPECIFIED) {
      return error(absl::StrCat("field 'env.multitask_tasks[", i, "]' must name a task"));
    }
  }
  const ModelConfig& model = config.model();
  if (model.policy_min_log_std() >= model.policy_max_log_std()) {
    return error("field 'model.policy_min_log_std' must be < 'model.policy_max_log_std'");
  }
  if (model.decoder_channels() % 4 != 0) {
    return error(absl::StrCat(
        "field 'model.decoder_channels' must be divisible by 4 (bilinear additive upsampling), "
        "got ", model.decoder_channels()));
  }
  if (env.image_size() != 64) {
    return error(absl::StrCat("field 'env.image_size' must be 64 (the decoder's output), got ",
                              env.image_size()));
  }
  if (env.observation() == OBSERVATION_STATE) {
    // Red, blue, then the distractor if any: 16 table-2 features each after the 17.
    const int objects = 2 + (env.distractor() != DISTRACTOR_NONE ? 1 : 0);
    const int expected = 17 + 16 * objects;
    if (model.proprio_size() != expected) {
      return error(absl::StrCat("field 'model.proprio_size' must be ", expected,
                                " with 'env.observation: OBSERVATION_STATE' (17 features and 16 "
                                "per object for ", objects, " objects), got ",
                                model.proprio_size()));
    }
    if (env.proprio_with_object_offsets()) {
      return error(
          "field 'env.proprio_with_object_offsets' adds object offsets to the pixel agent's "
          "proprioception; 'env.observation: OBSERVATION_STATE' already holds every object's "
          "features");
    }
  }
  if (env.proprio_with_object_offsets()) {
    // Red, blue, then the distractor if any: 3 offset values each after the 17 features.
    const int objects = 2 + (env.distractor() != DISTRACTOR_NONE ? 1 : 0);
    const int expected = 17 + 3 * objects;
    if (model.proprio_size() != expected) {
      return error(absl::StrCat("field 'model.proprio_size' must be ", expected,
                                " with 'env.proprio_with_object_offsets' (17 features and 3 "
                                "per object for ", objects, " objects), got ",
                                model.proprio_size()));
    }
  }
  if (model.proprio_low_size() != model.proprio_high_size() ||
      (model.proprio_low_size() != 0 && model.proprio_low_size() != model.proprio_size())) {
    return error(absl::StrCat("fields 'model.proprio_low' and 'model.proprio_high' must both be "
                              "empty or both hold ", model.proprio_size(), " values; got ",
                              model.proprio_low_size(), " and ", model.proprio_high_size()));
  }
  for (int i = 0; i < model.proprio_low_size(); ++i) {
    if (!(model.proprio_low(i) < model.proprio_high(i))) {
      return error(absl::StrCat("field 'model.proprio_low[", i,
                                "]' must be below 'model.proprio_high[", i, "]'"));
    }
  }
  const LearnerConfig& learner = config.learner();
  if (model.tanh_squashed_policy() && learner.policy_algorithm() == POLICY_CEM) {
    return error(
        "field 'model.tanh_squashed_policy' needs a parametric policy; POLICY_CEM plans in the "
        "bounded action space itself");
  }
  if (learner.policy_mean_bound_penalty() > 0.0 && model.tanh_squashed_policy()) {
    return error(
        "field 'learner.policy_mean_bound_penalty' bounds the mean of a clipped Gaussian; with "
        "'model.tanh_squashed_policy' the mean is that of the unbounded u");
  }
  if (learner.policy_behaviour_nll_weight() > 0.0 && learner.policy_algorithm() == POLICY_CEM) {
    return error(
        "field 'learner.policy_behaviour_nll_weight' needs a parametric policy; POLICY_CEM has "
        "none");
  }
  if (learner.policy_mean_bound_penalty() > 0.0 && learner.policy_algorithm() == POLICY_CEM) {
    return error(
        "field 'learner.policy_mean_bound_penalty' needs a parametric policy; POLICY_CEM has none");
  }
  if (learner.value_target() != VALUE_TARGET_VTRACE &&
      (learner.policy_algorithm() != POLICY_IVG || learner.imagination_horizon() < 1)) {
    return error(
        "field 'learner.value_target' other than VALUE_TARGET_VTRACE fits V on the parametric "
        "policy's imagined rollouts: it needs 'learner.policy_algorithm' POLICY_IVG and "
        "'learner.imagination_horizon' >= 1");
  }
  if (learner.scale_value_by_one_minus_gamma() && learner.gamma() >= 1.0) {
    return error("field 'learner.scale_value_by_one_minus_gamma' needs 'learner.gamma' < 1");
  }
  const int sequence_length = SequenceLength(config);
  if (sequence_length > env.episode_steps()) {
    return error(absl::StrCat("fields 'learner.burn_in' + 'learner.model_rollout' = ",
                              sequence_length, " exceed 'env.episode_steps' = ",
                              env.episode_steps()));
  }
  if (learner.reconstructed_steps_per_sequence() > learner.model_rollout()) {
    return error(absl::StrCat("field 'learner.reconstructed_steps_per_sequence' = ",
                              learner.reconstructed_steps_per_sequence(),
                              " exceeds 'learner.model_rollout' = ", learner.model_rollout(),
                              " (the predicted steps a sequence has; 0 decodes all of them)"));
  }
  if (learner.imagination_horizon() == 0 && learner.policy_algorithm() != POLICY_SVG0) {
    return error(absl::StrCat(
        "field 'learner.imagination_horizon' = 0 needs 'learner.policy_algorithm: POLICY_SVG0' "
        "(", PolicyAlgorithm_Name(learner.policy_algorithm()),
        " has no path from the action to the objective without a Q critic)"));
  }
  // Switches that only one algorithm reads are refused for the others, not silently ignored.
  for (const auto& [field, algorithm] :
       {std::pair{"svg0_model_loss", POLICY_SVG0}, std::pair{"pg_rollouts", POLICY_PG},
        std::pair{"cem_horizon", POLICY_CEM}, std::pair{"cem_trajectories", POLICY_CEM},
        std::pair{"cem_iterations", POLICY_CEM}, std::pair{"cem_elites", POLICY_CEM}}) {
    const google::protobuf::FieldDescriptor* set_field =
        LearnerConfig::descriptor()->FindFieldByName(field);
    if (learner.GetReflection()->HasField(learner, set_field) &&
        learner.policy_algorithm() != algorithm) {
      return error(absl::StrCat("field 'learner.", field, "' is read only with ",
                                "'learner.policy_algorithm: ", PolicyAlgorithm_Name(algorithm),
                                "'"));
    }
  }
  if (learner.cem_elites() > learner.cem_trajectories()) {
    return error(absl::StrCat("field 'learner.cem_elites' = ", learner.cem_elites(),
                              " exceeds 'learner.cem_trajectories' = ",
                              learner.cem_trajectories(), " (elites are chosen among them)"));
  }
  if (config.replay().item_stride() > sequence_length) {
    return error(absl::StrCat("field 'replay.item_stride' = ", config.replay().item_stride(),
                              " exceeds the sequence length ", sequence_length,
                              " (steps between items would never be sampled)"));
  }
  const ReplayConfig& replay = config.replay();
  if (replay.replay_ratio() > 0 && replay.samples_per_insert() > 0) {
    return error(
        "fields 'replay.replay_ratio' and 'replay.samples_per_insert' are both set; set one "
        "(replay_ratio is in sampled steps per inserted step, samples_per_insert in items)");
  }
  if (const double spi = SamplesPerInsert(config); spi > 0) {
    // One episode's insert adds spi * items to the limiter's diff, which may sit anywhere in
    // a window 2 * error_buffer wide: a narrower window could block the insert forever.
    const int items_per_episode = env.episode_steps() / ItemStride(config) + 1;
    const double needed = spi * items_per_episode / 2;
    if (replay.samples_per_insert_error_buffer() < needed) {
      return error(absl::StrCat(
          "field 'replay.samples_per_insert_error_buffer' = ",
          replay.samples_per_insert_error_buffer(), " is too small for samples_per_insert ", spi,
          " and episodes of ", items_per_episode, " items: it must be >= ", needed,
          " or an episode's insert could never be admitted"));
    }
  }
  if (config.actor().retry_initial_backoff_ms() > config.actor().retry_max_backoff_ms()) {
    return error("field 'actor.retry_initial_backoff_ms' must be <= 'actor.retry_max_backoff_ms'");
  }
  return absl::OkStatus();
}

void ApplySecretsFromEnvironment(ExperimentConfig* config) {
  if (const char* token = std::getenv("IVG_PUBLISH_TOKEN"); token != nullptr && *token != '\0') {
    config->mutable_cluster()->set_publish_token(token);
  }
  if (const char* password = std::getenv("IVG_REDIS_PASSWORD");
      password != nullptr && *password != '\0') {
    config->mutable_replay()->set_redis_password(password);
  }
}

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path,
                                                      const std::vector<std::string>& overrides) {
  ExperimentConfig config;
  std::string source = "embedded defaults";
  if (!path.empty()) {
    IVG_RETURN_IF_ERROR(ParseConfigFile(path, &config));
    source = absl::StrCat("config file '", path, "'");
  }
  for (const std::string& assignment : overrides) {
    IVG_RETURN_IF_ERROR(ApplyOverride(assignment, &config));
  }
  if (!overrides.empty()) {
    source = absl::StrCat(source, " with overrides [", absl::StrJoin(overrides, ", "), "]");
  }
  ApplySecretsFromEnvironment(&config);
  IVG_RETURN_IF_ERROR(ValidateExperimentConfig(config, source));
  return config;
}

std::vector<std::string> ExtractConfigOverrides(int* argc, char** argv) {
  std::vector<std::string> overrides;
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--set") == 0 && i + 1 < *argc) {
      overrides.emplace_back(argv[++i]);
    } else if (std::strncmp(arg, "--set=", 6) == 0) {
      overrides.emplace_back(arg + 6);
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  argv[out] = nullptr;
  return overrides;
}

std::string ConfigToText(const Message& message) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(message, &text);
  return text;
}

}  // namespace ivg
