#include "services/evaluator/evaluator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/config/derived_values.h"
#include "common/image/apng_writer.h"
#include "common/status/status_macros.h"
#include "env/model_proprio.h"
#include "env/scripted_policies.h"
#include "env/target_approach.h"
#include "env/task_table.h"
#include "glog/logging.h"
#include "services/evaluator/eval_video.h"
#include "services/replay/client/replay_client_options.h"

namespace ivg::evaluator {
namespace {

constexpr char kCsvHeader[] =
    "wall_seconds,policy,task,param_version,learner_step,env_steps,episodes,return_mean,"
    "return_std,return_min,return_max,success_rate,normalized_score,target_heading_cosine,"
    "target_reached_rate";

// A CSV field: empty for NaN (no value), as the normalised score without baselines.
std::string CsvNumber(double value) {
  return std::isfinite(value) ? absl::StrFormat("%.4f", value) : std::string();
}

}  // namespace

const char* EvalPolicyName(EvalPolicy policy) {
  switch (policy) {
    case EvalPolicy::kLearned:
      return "learned";
    case EvalPolicy::kRandom:
      return "random";
    case EvalPolicy::kScripted:
      return "scripted";
  }
  return "unknown";
}

EvalSummary Summarize(const ExperimentConfig& config, EvalPolicy policy, int task_index,
                      std::vector<double> returns) {
  EvalSummary s;
  s.policy = policy;
  s.task_index = task_index;
  s.returns = std::move(returns);
  if (s.returns.empty()) return s;
  const double n = static_cast<double>(s.returns.size());
  s.mean = std::accumulate(s.returns.begin(), s.returns.end(), 0.0) / n;
  const env::TaskSpec& task = env::TaskSpecOf(TaskAt(config, task_index));
  double squares = 0;
  int successes = 0;
  for (double r : s.returns) {
    squares += (r - s.mean) * (r - s.mean);
    if (env::IsSuccess(task, config, r)) ++successes;
  }
  s.stddev = std::sqrt(squares / n);
  s.min = *std::min_element(s.returns.begin(), s.returns.end());
  s.max = *std::max_element(s.returns.begin(), s.returns.end());
  s.success_rate = successes / n;
  return s;
}

void SummarizeApproach(const std::vector<EpisodeResult>& episodes, EvalSummary* summary) {
  double heading_sum = 0;
  int headings = 0, approaches = 0, reached = 0;
  for (const EpisodeResult& e : episodes) {
    if (std::isfinite(e.heading_cosine)) {
      heading_sum += e.heading_cosine;
      ++headings;
    }
    if (std::isfinite(e.closest_distance)) {
      ++approaches;
      if (e.closest_distance < env::TargetApproach::kReachedDistance) ++reached;
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  summary->heading_cosine = headings > 0 ? heading_sum / headings : nan;
  summary->reached_rate = approaches > 0 ? static_cast<double>(reached) / approaches : nan;
}

double NormalizedScore(double learned, double random, double scripted) {
  if (!std::isfinite(random) || !std::isfinite(scripted) || scripted == random) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return (learned - random) / (scripted - random);
}

absl::StatusOr<std::unique_ptr<Evaluator>> Evaluator::Create(const ExperimentConfig& config,
                                                             metrics::MetricRegistry* registry,
                                                             EvaluatorOptions options) {
  // The cameras render for the policy (pixels) or for the video; from state without videos
  // the evaluator renders nothing.
  env::EnvOptions env_options;
  env_options.render = env::ObservesPixels(config.env()) || config.eval().write_videos();
  IVG_ASSIGN_OR_RETURN(std::unique_ptr<env::SawyerEnv> environment,
                       env::SawyerEnv::Create(config.env(), env_options));
  IVG_ASSIGN_OR_RETURN(std::unique_ptr<model::PolicyRunner> policy,
                       model::PolicyRunner::Create(config, config.actor().inference_threads()));
  std::unique_ptr<replay::ShardedReplayClient> replay;
  if (options.read_replay && config.replay().shard_addresses_size() > 0) {
    IVG_ASSIGN_OR_RETURN(replay, replay::ShardedReplayClient::Create(
                                     replay::ReplayClientOptionsFromConfig(config, registry)));
  }
  std::error_code ec;
  std::filesystem::create_directories(config.cluster().run_dir(), ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create run directory ",
                                            config.cluster().run_dir(), ": ", ec.message()));
  }
  return std::unique_ptr<Evaluator>(new Evaluator(config, std::move(options), std::move(environment),
                                                  std::move(policy), std::move(replay),
                                                  param_server::ActorParameterClient::Create(config),
                                                  registry));
}

Evaluator::Evaluator(const ExperimentConfig& config, EvaluatorOptions options,
                     std::unique_ptr<env::SawyerEnv> env,
                     std::unique_ptr<model::PolicyRunner> policy,
                     std::unique_ptr<replay::ShardedReplayClient> replay,
                     std::unique_ptr<param_server::ActorParameterClient> params,
                     metrics::MetricRegistry* registry)
    : config_(config),
      options_(std::move(options)),
      env_(std::move(env)),
      policy_(std::move(policy)),
      replay_(std::move(replay)),
      params_(std::move(params)),
      registry_(registry) {
  video_layout_.image_size = config_.env().image_size();
}

std::string Evaluator::csv_path() const {
  return options_.csv_path.empty() ? config_.cluster().run_dir() + "/eval.csv" : options_.csv_path;
}

std::string Evaluator::videos_dir() const { return config_.cluster().run_dir() + "/videos"; }

absl::StatusOr<EpisodeResult> Evaluator::RunEpisode(EvalPolicy policy, int task_index,
                                                    uint64_t seed,
                                                    std::vector<std::vector<uint8_t>>* video) {
  // The task resolved once; SetTaskIndex below fails first for an index outside the config.
  IVG_RETURN_IF_ERROR(env_->SetTaskIndex(task_index));
  const env::TaskSpec& task = env::TaskSpecOf(TaskAt(config_, task_index));
  IVG_ASSIGN_OR_RETURN(env::TimeStep step, env_->Reset(seed));
  std::unique_ptr<env::ScriptedTaskPolicy> scripted;
  if (policy == EvalPolicy::kScripted) scripted = task.scripted(config_.env().reward());
  // The random policy's actions depend on the seed alone, so its floor is reproducible.
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + 7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  policy_->StartEpisode();
  const std::optional<env::ObjectId> target = task.target_object;
  env::TargetApproach approach;
  EpisodeResult result;
  if (video != nullptr) {
    video->push_back(
        EvalVideoFrame(step.observation.pixels, /*reward=*/0, task.max_step_reward,
                       video_layout_));
  }
  while (!step.last) {
    std::vector<float> action(env::kActionSize);
    switch (policy) {
      case EvalPolicy::kLearned: {
        IVG_ASSIGN_OR_RETURN(
            model::PolicyOutput output,
            policy_->ActOnNewestFrame(
                {env::ModelImage(step.observation, config_.env()),
                 env::ModelProprio(step.observation, config_.env())},
                task_index, /*deterministic=*/true, /*seed=*/0));
        action = std::move(output.action);
        break;
      }
      case EvalPolicy::kRandom:
        for (float& a : action) a = uniform(rng);
        break;
      case EvalPolicy::kScripted: {
        const env::Action a = scripted->Act(*env_);
        action.assign(a.begin(), a.end());
        break;
      }
    }
    if (target) approach.Observe(env_->TcpPosition(), env_->ObjectPosition(*target), action);
    IVG_ASSIGN_OR_RETURN(step, env_->Step(action));
    result.episode_return += step.reward;
    if (video != nullptr) {
      video->push_back(
          EvalVideoFrame(step.observation.pixels, step.reward, task.max_step_reward, video_layout_));
    }
  }
  if (target) {
    approach.ObserveFinal(env_->TcpPosition(), env_->ObjectPosition(*target));
    result.heading_cosine = approach.heading_cosine();
    result.closest_distance = approach.closest_distance();
  }
  return result;
}

absl::StatusOr<std::vector<EvalSummary>> Evaluator::EvaluateAllTasks(
    EvalPolicy policy, std::vector<std::vector<uint8_t>>* video) {
  std::vector<EvalSummary> summaries;
  for (int task = 0; task < NumTasks(config_); ++task) {
    std::vector<EpisodeResult> episodes;
    std::vector<double> returns;
    for (int i = 0; i < config_.eval().episodes(); ++i) {
      // The video shows the first task's first seed.
      IVG_ASSIGN_OR_RETURN(
          EpisodeResult e,
          RunEpisode(policy, task, static_cast<uint64_t>(config_.eval().seed() + i),
                     task == 0 && i == 0 ? video : nullptr));
      returns.push_back(e.episode_return);
      episodes.push_back(e);
    }
    summaries.push_back(Summarize(config_, policy, task, std::move(returns)));
    SummarizeApproach(episodes, &summaries.back());
  }
  return summaries;
}

absl::Status Evaluator::ScoreBaselines() {
  const int64_t env_steps = ReplayEnvSteps();
  for (EvalPolicy policy : {EvalPolicy::kRandom, EvalPolicy::kScripted}) {
    IVG_ASSIGN_OR_RETURN(std::vector<EvalSummary> summaries, EvaluateAllTasks(policy));
    for (const EvalSummary& s : summaries) {
      (policy == EvalPolicy::kRandom ? random_ : scripted_)[s.task_index] = s;
      Report(s, /*version=*/-1, /*learner_step=*/-1, env_steps);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Evaluator::FetchIfDue() {
  absl::StatusOr<param_server::ActorParameterClient::Refreshed> fetched =
      params_->Refresh(*policy_);
  if (!fetched.ok()) {
    if (fetched.status().code() != absl::StatusCode::kNotFound) {
      LOG_EVERY_N(WARNING, 20) << "evaluator: parameter fetch failed: " << fetched.status();
    }
    return false;
  }
  // Loaded even when not yet due: the next poll then costs an up-to-date answer only.
  IVG_RETURN_IF_ERROR(fetched->load_error);
  if (fetched->loaded) learner_step_ = fetched->learner_step;
  if (policy_->version() < 0 || learner_step_ == last_evaluated_step_) return false;
  return last_evaluated_step_ < 0 ||
         learner_step_ >= last_evaluated_step_ + config_.eval().every_learner_steps();
}

absl::Status Evaluator::LoadStoredParameters(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open parameter file '", path, "'"));
  PublishRequest stored;
  if (!stored.ParseFromIstream(&file)) {
    return absl::DataLossError(
        absl::StrCat("parameter file '", path, "' is not a stored parameter set"));
  }
  if (absl::Status loaded = policy_->Load(stored.actor_params(), stored.version()); !loaded.ok()) {
    return absl::Status(loaded.code(), absl::StrCat("parameter file '", path, "' (version ",
                                                    stored.version(), "): ", loaded.message()));
  }
  learner_step_ = stored.learner_step();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EvalSummary>> Evaluator::EvaluateLearned() {
  if (policy_->version() < 0) return absl::FailedPreconditionError("no parameters loaded");
  const absl::Time start = absl::Now();
  // The data the evaluated parameters were trained with, read before the episodes: at the
  // end of a run the replay may be gone by the time they finish (env_steps would read -1).
  const int64_t env_steps = ReplayEnvSteps();
  std::vector<std::vector<uint8_t>> video;
  IVG_ASSIGN_OR_RETURN(
      std::vector<EvalSummary> summaries,
      EvaluateAllTasks(EvalPolicy::kLearned, config_.eval().write_videos() ? &video : nullptr));
  if (!video.empty()) WriteVideo(video);
  for (const EvalSummary& s : summaries) Report(s, policy_->version(), learner_step_, env_steps);
  last_evaluated_step_ = learner_step_;
  ++evaluations_;
  registry_->AddCounter("ivg_eval_evaluations_total", "Evaluations of the learned policy.", {})
      .Get()
      ->Increment();
  registry_->AddGauge("ivg_eval_seconds", "Wall time of the last evaluation.", {})
      .Get()
      ->Set(absl::ToDoubleSeconds(absl::Now() - start));
  return summaries;
}

void Evaluator::WriteVideo(const std::vector<std::vector<uint8_t>>& frames) {
  std::error_code ec;
  std::filesystem::create_directories(videos_dir(), ec);
  // One frame per control step (substeps x physics_timestep, 0.05 s by default): real time.
  const double control_seconds = config_.env().substeps() * config_.env().physics_timestep();
  const int fps = std::max(1, static_cast<int>(std::lround(1.0 / control_seconds)));
  const std::string path = absl::StrCat(videos_dir(), "/eval_step_", learner_step_, ".png");
  absl::Status status =
      image::WriteAnimatedPng(path, video_layout_.width(), video_layout_.height(), frames, fps);
  if (status.ok()) {
    std::filesystem::copy_file(path, videos_dir() + "/latest.png.tmp",
                               std::filesystem::copy_options::overwrite_existing, ec);
    std::filesystem::rename(videos_dir() + "/latest.png.tmp", videos_dir() + "/latest.png", ec);
    if (ec) status = absl::InternalError(absl::StrCat("updating latest.png: ", ec.message()));
  }
  if (!status.ok()) LOG(WARNING) << "evaluator: video for step " << learner_step_ << ": " << status;
}

int64_t Evaluator::ReplayEnvSteps() {
  if (replay_ == nullptr) return -1;
  int64_t total = 0;
  for (int shard = 0; shard < replay_->num_shards(); ++shard) {
    absl::StatusOr<ServerInfoResponse> info = replay_->ShardInfo(shard);
    if (!info.ok()) return -1;
    for (const TableInfo& table : info->tables()) total += table.total_inserted_steps();
  }
  return total;
}

void Evaluator::Report(const EvalSummary& s, int64_t version, int64_t learner_step,
                       int64_t env_steps) {
  const std::string task = Task_Name(TaskAt(config_, s.task_index));
  const std::string policy = EvalPolicyName(s.policy);
  double normalized = std::numeric_limits<double>::quiet_NaN();
  auto random = random_.find(s.task_index);
  auto scripted = scripted_.find(s.task_index);
  if (random != random_.end() && scripted != scripted_.end()) {
    normalized = NormalizedScore(s.mean, random->second.mean, scripted->second.mean);
  }
  registry_
      ->AddGauge("ivg_eval_return", "Mean eval return over the eval seeds.", {"task", "policy"})
      .WithLabels({task, policy})
      ->Set(s.mean);
  registry_
      ->AddGauge("ivg_eval_return_stddev", "Standard deviation of the eval return over the seeds.",
                 {"task", "policy"})
      .WithLabels({task, policy})
      ->Set(s.stddev);
  registry_
      ->AddGauge("ivg_eval_success_rate", "Fraction of eval episodes above the success return.",
                 {"task", "policy"})
      .WithLabels({task, policy})
      ->Set(s.success_rate);
  if (std::isfinite(s.heading_cosine)) {
    registry_
        ->AddGauge("ivg_eval_target_heading_cosine",
                   "Mean cosine between the commanded TCP velocity and the direction to the "
                   "task's target object (Reach, Lift).",
                   {"task", "policy"})
        .WithLabels({task, policy})
        ->Set(s.heading_cosine);
  }
  if (std::isfinite(s.reached_rate)) {
    registry_
        ->AddGauge("ivg_eval_target_reached_rate",
                   "Fraction of eval episodes whose TCP came within 5 cm of the target object.",
                   {"task", "policy"})
        .WithLabels({task, policy})
        ->Set(s.reached_rate);
  }
  if (s.policy == EvalPolicy::kLearned) {
    if (std::isfinite(normalized)) {
      registry_
          ->AddGauge("ivg_eval_normalized_score",
                     "(learned - random) / (scripted - random) eval return.", {"task"})
          .WithLabels({task})
          ->Set(normalized);
    }
    registry_->AddGauge("ivg_eval_param_version", "Parameter version last evaluated.", {})
        .Get()
        ->Set(static_cast<double>(version));
    registry_->AddGauge("ivg_eval_learner_step", "Learner step last evaluated.", {})
        .Get()
        ->Set(static_cast<double>(learner_step));
    registry_
        ->AddGauge("ivg_eval_env_steps", "Environment steps in the replay at the last evaluation.",
                   {})
        .Get()
        ->Set(static_cast<double>(env_steps));
  }
  LOG(INFO) << absl::StrFormat(
      "eval %s %s: return %.1f +- %.1f (min %.1f max %.1f) success %.2f normalized %.3f, "
      "heading to target %.2f, reached %.2f, version %d step %d env_steps %d",
      policy, task, s.mean, s.stddev, s.min, s.max, s.success_rate, normalized,
      s.heading_cosine, s.reached_rate, version, learner_step, env_steps);
  if (absl::Status status = AppendCsvRow(s, version, learner_step, env_steps, normalized);
      !status.ok()) {
    LOG(WARNING) << "evaluator: " << status;
  }
}

absl::Status Evaluator::AppendCsvRow(const EvalSummary& s, int64_t version, int64_t learner_step,
                                     int64_t env_steps, double normalized) {
  const std::string path = csv_path();
  std::error_code ec;
  const bool fresh =
      !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
  std::ofstream out(path, std::ios::app);
  if (!out) return absl::InternalError(absl::StrCat("cannot append to ", path));
  if (fresh) out << kCsvHeader << "\n";
  out << absl::StrFormat("%.1f,%s,%s,%d,%d,%d,%d,%.4f,%.4f,%.4f,%.4f,%.4f,",
                         absl::ToDoubleSeconds(absl::Now() - start_), EvalPolicyName(s.policy),
                         Task_Name(TaskAt(config_, s.task_index)), version, learner_step, env_steps,
                         s.returns.size(), s.mean, s.stddev, s.min, s.max, s.success_rate);
  out << CsvNumber(normalized) << "," << CsvNumber(s.heading_cosine) << ","
      << CsvNumber(s.reached_rate) << "\n";
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat("writing ", path, " failed"));
  return absl::OkStatus();
}

absl::Status Evaluator::Run(const std::function<bool()>& should_stop) {
  if (config_.eval().score_baselines()) IVG_RETURN_IF_ERROR(ScoreBaselines());
  while (!should_stop()) {
    absl::StatusOr<bool> due = FetchIfDue();
    if (!due.ok()) {
      // A parameter set the policy cannot load (e.g. another model config) is skipped.
      LOG(ERROR) << "evaluator: " << due.status();
    } else if (*due) {
      absl::StatusOr<std::vector<EvalSummary>> evaluated = EvaluateLearned();
      if (!evaluated.ok()) return evaluated.status();
      continue;
    }
    // Poll the parameter server about once a second, staying responsive to a stop.
    for (int i = 0; i < 10 && !should_stop(); ++i) absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::OkStatus();
}

}  // namespace ivg::evaluator
