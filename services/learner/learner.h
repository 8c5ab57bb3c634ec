// The learner process's loop around the learner core: sample a batch, run one synchronous
// IVG update (gradients averaged across learners), export metrics, publish parameters
// (rank 0), and checkpoint periodically and on exit. LibTorch stays behind the pointer to
// the core, so main.cc and other service code do not compile it.
//
// Thread-compatibility: one thread drives a Learner. With learner.prefetch_batches > 0 the
// learner samples on a thread of its own (services/learner/prefetcher.h), so the sequence
// source is used from that thread and Run's `should_stop` is called from both.
#ifndef IVG_SERVICES_LEARNER_LEARNER_H_
#define IVG_SERVICES_LEARNER_LEARNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "proto/config.pb.h"
#include "services/learner/c10d_collective_options.h"
#include "services/learner/parameter_publisher.h"
#include "services/learner/prefetcher.h"
#include "services/learner/sequence_source.h"

namespace ivg::model {
class Collective;
class LearnerCore;
struct Batch;
}  // namespace ivg::model

namespace ivg::learner {

struct LearnerMetrics;

struct LearnerOptions {
  ExperimentConfig config;
  // Checkpoints go to <run_dir>/checkpoint_rank<rank>.pt, reconstruction strips (rank 0) to
  // <run_dir>/reconstructions/.
  std::string run_dir;
  // Continue from this rank's checkpoint in run_dir (it must exist).
  bool resume = false;
  // Resume when this rank's checkpoint exists, else start fresh (the local launcher passes
  // this so a first start and a restart after a crash use the same command line).
  bool resume_if_present = false;
  // Metrics go here; null = the process's default registry.
  metrics::MetricRegistry* registry = nullptr;
  // Set (world_size > 1) to join the synchronous learners through c10d when Create is given
  // no collective of its own.
  std::optional<C10dCollectiveOptions> rendezvous;
};

class Learner {
 public:
  // `collective` may be null for a single learner; `publisher` may be null (no publishing;
  // only rank 0 publishes anyway). With a collective, every rank ends up with rank 0's
  // initial parameters.
  static absl::StatusOr<std::unique_ptr<Learner>> Create(LearnerOptions options,
                                                         std::unique_ptr<SequenceSource> source,
                                                         std::unique_ptr<model::Collective> collective,
                                                         ParameterPublisher* publisher);
  // As above; the collective (if any) comes from options.rendezvous. The learner's main
  // uses this form, which keeps LibTorch types out of it.
  static absl::StatusOr<std::unique_ptr<Learner>> Create(LearnerOptions options,
                                                         std::unique_ptr<SequenceSource> source,
                                                         ParameterPublisher* publisher);
  ~Learner();

  // One learner step. A skipped (non-finite) step is OK; the error is returned when the
  // non-finite limit is reached or a stop request ends the wait for data (CANCELLED).
  // Malformed or refused batches are discarded and sampled again (SampleBatch).
  absl::Status Step();
  // Steps until learner.max_steps (if set) or `should_stop()`; checkpoints every
  // learner.checkpoint_every_minutes and once on the way out.
  absl::Status Run(const std::function<bool()>& should_stop);
  // Writes this rank's checkpoint atomically.
  absl::Status SaveCheckpoint();
  // Rank 0 sends encoder + policy to the parameter server (version = learner step). Failures
  // are logged and counted; training goes on.
  void PublishParameters();

  int64_t step() const;
  std::string checkpoint_path() const;
  // <run_dir>/reconstructions: step_<N>.png and latest.png (see WriteReconstructions).
  std::string reconstructions_dir() const;
  model::LearnerCore& core() { return *core_; }

 private:
  Learner(LearnerOptions options, std::unique_ptr<SequenceSource> source,
          std::unique_ptr<model::Collective> collective, ParameterPublisher* publisher,
          std::unique_ptr<model::LearnerCore> core);

  // Samples until a batch converts; waits out outages and replaces unusable batches
  // (ivg_learner_rejected_batches_total). CANCELLED once should_stop_() or `cancelled()`
  // says so.
  absl::StatusOr<model::Batch> SampleBatch(const std::function<bool()>& cancelled);
  // The batch to train on next: from the prefetcher (started on first use, after any
  // RestoreState of a resume) or, with prefetch_batches 0, sampled here.
  absl::StatusOr<model::Batch> NextBatch();
  // The sequence source's state before the next batch this learner will train on.
  std::string SourceStateBeforeNextBatch() const;
  // should_stop_(), safe to call from the prefetch thread.
  bool StopRequested();

  // Rank 0, every learner.reconstruction_every_steps applied steps: the open-loop prediction
  // for the first sequences of `batch` as a PNG strip. Failures are logged, never fatal.
  void WriteReconstructions(const model::Batch& batch);

  LearnerOptions options_;
  std::unique_ptr<SequenceSource> source_;
  std::unique_ptr<model::Collective> collective_;
  ParameterPublisher* publisher_;
  std::unique_ptr<model::LearnerCore> core_;
  std::unique_ptr<LearnerMetrics> metrics_;
  int rank_ = 0;
  absl::Time last_step_end_ = absl::InfinitePast();
  // Set by Run(): sampling waits through replay outages and empty tables until it says stop.
  // Guarded because the prefetch thread calls it (StopRequested) while Run sets it.
  std::mutex stop_mu_;
  std::function<bool()> should_stop_ = [] { return false; };
  // Declared last, destroyed first: its thread uses source_, core_ and metrics_.
  std::unique_ptr<Prefetcher<model::Batch>> prefetcher_;
};

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_LEARNER_H_
