#include "services/learner/learner.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/config/config_loader.h"
#include "common/status/status_macros.h"
#include "glog/logging.h"
#include "model/config/model_config.h"
#include "model/core/learner_core.h"
#include "services/learner/batch_conversion.h"
#include "services/learner/c10d_collective.h"
#include "services/learner/reconstruction_strip.h"

namespace ivg::learner {

using model::Batch;
using model::Collective;
using model::CoreOptions;
using model::CoreOptionsFromConfig;
using model::Error;
using model::LearnerCore;
using model::LossValues;
using model::SliceBatch;
using model::StepStats;

// The scalar diagnostics of a step by their ivg_learner_diagnostic{name} label: one list for
// registering the series and for setting them.
std::vector<std::pair<const char*, double>> NamedDiagnostics(const model::StepDiagnostics& d) {
  return {{"policy_log_std_mean", d.policy_log_std_mean},
          {"policy_abs_mean_action", d.policy_abs_mean_action},
          {"policy_mean_outside_bounds", d.policy_mean_outside_bounds},
          {"imagined_objective", d.imagined_objective},
          {"behaviour_nll", d.behaviour_nll},
          {"value_mean", d.value_mean},
          {"value_target_mean", d.value_target_mean},
          {"reward_explained_variance", d.reward_explained_variance},
          {"open_loop_reward_explained_variance", d.open_loop_reward_explained_variance},
          {"value_explained_variance", d.value_explained_variance}};
}

// The learner's Prometheus series (names documented in services/learner/README.md).
struct LearnerMetrics {
  LearnerMetrics(metrics::MetricRegistry& r, const std::string& algorithm) {
    // An info series (value 1): dashboards label a run with what it trains.
    r.AddGauge("ivg_learner_algorithm", "The policy algorithm this learner trains (value 1).",
               {"algorithm"})
        .WithLabels({algorithm})
        ->Set(1);
    auto& loss_family = r.AddGauge("ivg_learner_loss", "Loss terms of the last step.", {"term"});
    for (const char* term : {"reconstruction_image", "reconstruction_proprio", "consistency",
                             "reward", "value", "q", "model_total", "policy"}) {
      loss[term] = loss_family.WithLabels({term});
    }
    auto& norms = r.AddGauge("ivg_learner_grad_norm",
                             "Gradient norm before clipping, averaged across learners.",
                             {"network"});
    model_grad_norm = norms.WithLabels({"model"});
    policy_grad_norm = norms.WithLabels({"policy"});
    steps = r.AddCounter("ivg_learner_steps_total", "Applied learner steps.").Get();
    skipped = r.AddCounter("ivg_learner_nonfinite_steps_total",
                           "Steps skipped for a non-finite loss or gradient.")
                  .Get();
    samples = r.AddCounter("ivg_learner_samples_total", "Sequences trained on.").Get();
    rejected_batches = r.AddCounter("ivg_learner_rejected_batches_total",
                                    "Sampled batches discarded (refused by the replay or "
                                    "malformed) and sampled again.")
                           .Get();
    steps_per_second =
        r.AddGauge("ivg_learner_steps_per_second", "Learner steps per second (last step).").Get();
    samples_per_second =
        r.AddGauge("ivg_learner_samples_per_second", "Sequences per second (last step).").Get();
    sample_latency = r.AddHistogram("ivg_learner_sample_latency_seconds",
                                    "Time to sample and convert one batch (on the prefetch "
                                    "thread when learner.prefetch_batches > 0).",
                                    {}, metrics::DefaultLatencyBuckets())
                         .Get();
    batch_wait = r.AddHistogram("ivg_learner_batch_wait_seconds",
                                "Time a step waited for its batch (near 0 when prefetching "
                                "keeps up with the updates).",
                                {}, metrics::DefaultLatencyBuckets())
                     .Get();
    step_seconds = r.AddHistogram("ivg_learner_update_seconds",
                                  "Time of one update (both losses, all-reduce, Adam).", {},
                                  metrics::DefaultLatencyBuckets())
                       .Get();
    allreduce_seconds = r.AddHistogram("ivg_learner_allreduce_seconds",
                                       "Time in the gradient all-reduce per step.", {},
                                       metrics::DefaultLatencyBuckets())
                            .Get();
    allreduce_total = r.AddCounter("ivg_learner_allreduce_seconds_total",
                                   "Total time spent in gradient all-reduce.")
                          .Get();
    target_updates =
        r.AddCounter("ivg_learner_target_updates_total", "Target network refreshes.").Get();
    checkpoints = r.AddCounter("ivg_learner_checkpoints_total", "Checkpoints written.").Get();
    publish_failures = r.AddCounter("ivg_learner_publish_failures_total",
                                    "Parameter publications that failed.")
                           .Get();
    step_gauge = r.AddGauge("ivg_learner_step", "Current learner step.").Get();
    reconstructions = r.AddCounter("ivg_learner_reconstructions_total",
                                   "Open-loop reconstruction strips written (rank 0).")
                          .Get();
    auto& diagnostics = r.AddGauge(
        "ivg_learner_diagnostic",
        "Why it learns or not, last step: policy log-std and |mean action| on the batch's "
        "latents, the share of mean actions beyond the bounds, the imagined objective, the "
        "value and its V-trace target (reward units), and the explained variance of the reward "
        "and value heads on the encoder's latents (1 exact, 0 the batch mean, NaN no variance).",
        {"name"});
    for (const auto& [name, unused] : NamedDiagnostics(model::StepDiagnostics())) {
      diagnostic[name] = diagnostics.WithLabels({name});
    }
    module_grad_norm = &r.AddGauge("ivg_learner_module_grad_norm",
                                   "Gradient norm per module group (this learner, before "
                                   "averaging and clipping).",
                                   {"module"});
  }
  std::map<std::string, metrics::Gauge*> diagnostic;
  metrics::Family<metrics::Gauge>* module_grad_norm;
  std::map<std::string, metrics::Gauge*> loss;
  metrics::Gauge *model_grad_norm, *policy_grad_norm, *steps_per_second, *samples_per_second,
      *step_gauge;
  metrics::Counter *steps, *skipped, *samples, *rejected_batches, *allreduce_total, *target_updates, *checkpoints,
      *publish_failures, *reconstructions;
  metrics::Histogram *sample_latency, *batch_wait, *step_seconds, *allreduce_seconds;
};

namespace {

// Sequences shown in a reconstruction strip (two rows each).
constexpr int kReconstructionSequences = 4;

// Checkpoint metadata: the config text, a NUL, then the data source's sampling state.
std::string PackMetadata(const std::string& config_text, const std::string& source_state) {
  return config_text + std::string(1, '\0') + source_state;
}

}  // namespace

Learner::Learner(LearnerOptions options, std::unique_ptr<SequenceSource> source,
                 std::unique_ptr<Collective> collective, ParameterPublisher* publisher,
                 std::unique_ptr<LearnerCore> core)
    : options_(std::move(options)),
      source_(std::move(source)),
      collective_(std::move(collective)),
      publisher_(publisher),
      core_(std::move(core)) {
  metrics_ = std::make_unique<LearnerMetrics>(
      options_.registry ? *options_.registry : metrics::DefaultRegistry(),
      model::PolicyAlgorithmLabel(core_->options().loss));
  rank_ = collective_ ? collective_->rank() : 0;
}

Learner::~Learner() {
  // Before the members its thread uses are destroyed.
  prefetcher_.reset();
}

absl::StatusOr<std::unique_ptr<Learner>> Learner::Create(LearnerOptions options,
                                                         std::unique_ptr<SequenceSource> source,
                                                         ParameterPublisher* publisher) {
  std::unique_ptr<Collective> collective;
  if (options.rendezvous.has_value() && options.rendezvous->world_size > 1) {
    IVG_ASSIGN_OR_RETURN(collective, C10dCollective::Create(*options.rendezvous));
  }
  return Create(std::move(options), std::move(source), std::move(collective), publisher);
}

absl::StatusOr<std::unique_ptr<Learner>> Learner::Create(LearnerOptions options,
                                                         std::unique_ptr<SequenceSource> source,
                                                         std::unique_ptr<Collective> collective,
                                                         ParameterPublisher* publisher) {
  if (source == nullptr) return absl::InvalidArgumentError("the learner needs a sequence source");
  IVG_ASSIGN_OR_RETURN(CoreOptions core_options, CoreOptionsFromConfig(options.config));
  const LearnerConfig& lc = options.config.learner();
  if (lc.torch_threads() > 0) at::set_num_threads(lc.torch_threads());
  core_options.noise_stream = collective ? collective->rank() : 0;
  auto core = LearnerCore::Create(core_options);
  if (!core.ok()) return absl::InvalidArgumentError(core.error());
  if (!options.run_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.run_dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot create run directory ", options.run_dir, ": ", ec.message()));
    }
  }
  std::unique_ptr<Learner> learner(new Learner(std::move(options), std::move(source),
                                               std::move(collective), publisher,
                                               core.consume()));
  const std::string path = learner->checkpoint_path();
  const bool resume = learner->options_.resume ||
                      (learner->options_.resume_if_present && std::filesystem::exists(path));
  if (resume) {
    if (!std::filesystem::exists(path)) {
      return absl::NotFoundError(absl::StrCat("--resume: no checkpoint at ", path));
    }
    auto metadata = learner->core_->LoadCheckpoint(path);
    if (!metadata.ok()) return absl::DataLossError(metadata.error());
    const std::string& packed = metadata.value();
    const size_t nul = packed.find('\0');
    const std::string saved_config = packed.substr(0, nul);
    if (saved_config != ConfigToText(learner->options_.config)) {
      LOG(WARNING) << "Resuming " << path << " with a config that differs from the saved one";
    }
    if (nul != std::string::npos) {
      IVG_RETURN_IF_ERROR(learner->source_->RestoreState(packed.substr(nul + 1)));
    }
    LOG(INFO) << "Resumed from " << path << " at step " << learner->core_->step();
    learner->metrics_->step_gauge->Set(static_cast<double>(learner->core_->step()));
  } else if (!lc.transfer_from_checkpoint().empty()) {
    if (Error e = learner->core_->LoadTransfer(lc.transfer_from_checkpoint())) {
      return absl::InvalidArgumentError(*e);
    }
    LOG(INFO) << "Transferred encoder, transition and decoder from "
              << lc.transfer_from_checkpoint();
  }
  if (learner->collective_ && learner->collective_->world_size() > 1) {
    // Every rank continues from rank 0's state, whatever checkpoint it resumed from (see
    // Run: the ranks checkpoint at the same steps, but a rank can die between two).
    const int64_t resumed_step = learner->core_->step();
    if (Error e = learner->core_->BroadcastTrainingState(*learner->collective_)) {
      return absl::UnavailableError(*e);
    }
    if (learner->core_->step() != resumed_step) {
      LOG(WARNING) << "Resumed at step " << resumed_step << ", continuing from rank 0's step "
                   << learner->core_->step() << " with its parameters and optimiser state";
      learner->metrics_->step_gauge->Set(static_cast<double>(learner->core_->step()));
    }
  }
  // The step training goes on from, after any broadcast: the ranks of a pair always print the
  // same one (the files they resumed from can differ when a rank died between two writes of
  // the same coordinated checkpoint).
  LOG(INFO) << "Training continues from step " << learner->core_->step();
  return learner;
}

int64_t Learner::step() const { return core_->step(); }

std::string Learner::checkpoint_path() const {
  return (std::filesystem::path(options_.run_dir) /
          absl::StrCat("checkpoint_rank", rank_, ".pt"))
      .string();
}

std::string Learner::reconstructions_dir() const {
  return (std::filesystem::path(options_.run_dir) / "reconstructions").string();
}

void Learner::WriteReconstructions(const Batch& batch) {
  const int64_t n = std::min<int64_t>(batch.images.size(0), kReconstructionSequences);
  auto prediction = core_->PredictOpenLoop(SliceBatch(batch, 0, n));
  absl::Status written;
  if (!prediction.ok()) {
    written = absl::InternalError(prediction.error());
  } else {
    absl::StatusOr<RgbImage> grid =
        ReconstructionGrid(prediction.value().true_images, prediction.value().predicted_images,
                           kReconstructionSequences);
    written = grid.ok() ? WriteReconstructionFiles(reconstructions_dir(), core_->step(), *grid)
                        : grid.status();
  }
  if (!written.ok()) {
    LOG(WARNING) << "Reconstruction strip at step " << core_->step() << " not written: "
                 << written;
    return;
  }
  metrics_->reconstructions->Increment();
}

absl::Status Learner::SaveCheckpoint() {
  if (Error e = core_->SaveCheckpoint(
          checkpoint_path(),
          PackMetadata(ConfigToText(options_.config), SourceStateBeforeNextBatch()))) {
    return absl::InternalError(*e);
  }
  metrics_->checkpoints->Increment();
  return absl::OkStatus();
}

bool Learner::StopRequested() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  return should_stop_();
}

std::string Learner::SourceStateBeforeNextBatch() const {
  return prefetcher_ ? prefetcher_->StateBeforeNext() : source_->SaveState();
}

absl::StatusOr<Batch> Learner::NextBatch() {
  const int prefetch = options_.config.learner().prefetch_batches();
  if (prefetch == 0) return SampleBatch([] { return false; });
  if (prefetcher_ == nullptr) {
    prefetcher_ = std::make_unique<Prefetcher<Batch>>(
        prefetch, [this](const std::function<bool()>& cancelled) { return SampleBatch(cancelled); },
        [this] { return source_->SaveState(); });
  }
  return prefetcher_->Next();
}

absl::StatusOr<Batch> Learner::SampleBatch(const std::function<bool()>& cancelled) {
  const LearnerConfig& lc = options_.config.learner();
  // Everything here happens before any collective call, so a rank that waits or resamples
  // stays in step with the others. An empty or rate-limited table (at start-up, before the
  // actors' first episodes) and a replay outage are waited out; a batch that the replay
  // refuses or that does not convert (a malformed item) is counted and replaced by a fresh
  // sample: one bad item must not stop training, and a learner that exited on it would meet
  // it again after every restart. Only a stop request ends the wait.
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    const absl::Time start = absl::Now();
    absl::StatusOr<SequenceBatch> sampled = source_->Sample(lc.batch_size_per_learner());
    absl::Status problem = sampled.status();
    if (sampled.ok()) {
      absl::StatusOr<Batch> batch =
          BatchFromProto(*sampled, model::ProprioBoundsFromConfig(options_.config));
      if (batch.ok()) {
        // The same checks the core's Step makes (shapes, task ids in range, finite
        // values), here where a failure can still be replaced by another sample.
        model::Error invalid = model::ValidateBatch(*batch, core_->options());
        if (!invalid) {
          metrics_->sample_latency->Observe(absl::ToDoubleSeconds(absl::Now() - start));
          return batch;
        }
        problem = absl::InvalidArgumentError(*invalid);
      } else {
        problem = batch.status();
      }
    }
    const bool waiting = absl::IsUnavailable(problem) || absl::IsDeadlineExceeded(problem) ||
                         absl::IsCancelled(problem);
    if (waiting) {
      LOG_EVERY_N(WARNING, 10) << "waiting for replay data: " << problem;
    } else {
      metrics_->rejected_batches->Increment();
      LOG_EVERY_N(ERROR, 10) << "discarding a batch the learner cannot use, sampling again: "
                             << problem;
    }
    const auto stopping = [&] { return StopRequested() || cancelled(); };
    if (stopping()) {
      return absl::CancelledError(absl::StrCat("stopped while sampling: ", problem.message()));
    }
    // In slices, so that a stop (or the prefetcher's shutdown) is not held up by a backoff.
    for (absl::Time until = absl::Now() + backoff; absl::Now() < until && !stopping();) {
      absl::SleepFor(std::min(absl::Milliseconds(100), until - absl::Now()));
    }
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

absl::Status Learner::Step() {
  const LearnerConfig& lc = options_.config.learner();
  const absl::Time start = absl::Now();
  IVG_ASSIGN_OR_RETURN(Batch batch, NextBatch());
  const absl::Time sampled = absl::Now();
  metrics_->batch_wait->Observe(absl::ToDoubleSeconds(sampled - start));

  auto result = core_->Step(batch, collective_.get());
  if (!result.ok()) return absl::InvalidArgumentError(result.error());
  const StepStats& stats = result.value();
  const absl::Time end = absl::Now();
  metrics_->step_seconds->Observe(absl::ToDoubleSeconds(end - sampled));
  metrics_->allreduce_seconds->Observe(stats.allreduce_seconds);
  metrics_->allreduce_total->Increment(stats.allreduce_seconds);
  const LossValues& l = stats.losses;
  metrics_->loss["reconstruction_image"]->Set(l.reconstruction_image);
  metrics_->loss["reconstruction_proprio"]->Set(l.reconstruction_proprio);
  metrics_->loss["consistency"]->Set(l.consistency);
  metrics_->loss["reward"]->Set(l.reward);
  metrics_->loss["value"]->Set(l.value);
  metrics_->loss["q"]->Set(l.q);
  metrics_->loss["model_total"]->Set(l.model_total);
  metrics_->loss["policy"]->Set(l.policy);
  if (!stats.applied) {
    metrics_->skipped->Increment();
    LOG(WARNING) << "Skipped learner step (" << stats.consecutive_nonfinite
                 << " in a row): " << stats.skip_reason;
  } else {
    metrics_->steps->Increment();
    metrics_->samples->Increment(lc.batch_size_per_learner());
    metrics_->model_grad_norm->Set(stats.model_grad_norm);
    metrics_->policy_grad_norm->Set(stats.policy_grad_norm);
    const model::StepDiagnostics& d = stats.diagnostics;
    for (const auto& [name, value] : NamedDiagnostics(d)) metrics_->diagnostic[name]->Set(value);
    for (const auto& [module, norm] : d.grad_norms) {
      metrics_->module_grad_norm->WithLabels({module})->Set(norm);
    }
    if (stats.target_updated) metrics_->target_updates->Increment();
    if (core_->step() % 100 == 0 || core_->step() == 1) {
      LOG(INFO) << "step " << core_->step() << " model_loss " << l.model_total << " policy_loss "
                << l.policy << " value " << l.value << " update "
                << absl::ToDoubleMilliseconds(end - sampled) << " ms";
    }
  }
  metrics_->step_gauge->Set(static_cast<double>(core_->step()));
  if (last_step_end_ != absl::InfinitePast()) {
    const double seconds = absl::ToDoubleSeconds(end - last_step_end_);
    if (seconds > 0) {
      metrics_->steps_per_second->Set(1.0 / seconds);
      metrics_->samples_per_second->Set(lc.batch_size_per_learner() / seconds);
    }
  }
  last_step_end_ = end;

  if (stats.applied && core_->step() % lc.publish_every_steps() == 0) PublishParameters();
  // After the update, on the batch it trained on: a skipped step writes nothing, so each
  // step number is written once.
  // From state there are no frames to draw (the state vector's error is the proprio loss).
  if (stats.applied && rank_ == 0 && lc.reconstruction_every_steps() > 0 &&
      core_->options().model.has_images() &&
      core_->step() % lc.reconstruction_every_steps() == 0) {
    WriteReconstructions(batch);
  }
  return absl::OkStatus();
}

void Learner::PublishParameters() {
  if (publisher_ == nullptr || rank_ != 0) return;
  auto request = MakePublishRequest(*core_, core_->step(), /*include_model=*/false);
  absl::Status published = request.ok() ? publisher_->Publish(*request) : request.status();
  if (!published.ok()) {
    metrics_->publish_failures->Increment();
    LOG(WARNING) << "Publishing parameters at step " << core_->step() << " failed: " << published;
  }
}

absl::Status Learner::Run(const std::function<bool()>& should_stop) {
  const LearnerConfig& lc = options_.config.learner();
  const double minutes = lc.checkpoint_every_minutes();
  absl::Time next_checkpoint =
      minutes > 0 ? absl::Now() + absl::Seconds(minutes * 60) : absl::InfiniteFuture();
  absl::Status status = absl::OkStatus();
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    should_stop_ = should_stop;
  }
  // Actors wait for a first parameter set; their episodes are what the first update trains
  // on, so the initial (or resumed) parameters go out before any sampling.
  PublishParameters();
  while (lc.max_steps() == 0 || core_->step() < lc.max_steps()) {
    const absl::Time start = absl::Now();
    bool stop = should_stop();
    bool checkpoint = absl::Now() >= next_checkpoint;
    if (collective_ && collective_->world_size() > 1) {
      // A stop request on any rank stops every rank before the same step, so none is left
      // waiting in an all-reduce; a checkpoint due on any rank is written by every rank
      // after the same step, so all checkpoints of the pair hold one step.
      at::Tensor flags = at::tensor({stop ? 1.0f : 0.0f, checkpoint ? 1.0f : 0.0f});
      if (Error e = collective_->AllReduceSum(flags)) {
        status = absl::UnavailableError("stop-flag all-reduce: " + *e);
        break;
      }
      stop = flags[0].item<float>() > 0;
      checkpoint = flags[1].item<float>() > 0;
    }
    if (stop) break;
    status = Step();
    if (!status.ok()) {
      // A stop request while waiting for data is a clean stop, not a failure.
      if (absl::IsCancelled(status) && should_stop()) status = absl::OkStatus();
      break;
    }
    if (checkpoint) {
      IVG_RETURN_IF_ERROR(SaveCheckpoint());
      next_checkpoint = absl::Now() + absl::Seconds(minutes * 60);
    }
    if (lc.max_steps_per_second() > 0) {
      const absl::Duration budget = absl::Seconds(1.0 / lc.max_steps_per_second());
      const absl::Duration spent = absl::Now() - start;
      if (spent < budget) absl::SleepFor(budget - spent);
    }
  }
  // A rank whose peer died (a failed all-reduce) must not checkpoint its own step: the pair
  // resumes from the last checkpoint they wrote together. A single learner keeps what it has.
  if (!status.ok() && collective_ && collective_->world_size() > 1) {
    LOG(ERROR) << "Not checkpointing step " << core_->step()
               << " after a failure; the ranks resume from their last common checkpoint";
    return status;
  }
  absl::Status saved = SaveCheckpoint();
  if (!status.ok()) return status;
  return saved;
}

}  // namespace ivg::learner
