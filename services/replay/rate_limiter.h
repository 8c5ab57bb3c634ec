// Controls when samples and inserts may proceed (Reverb's RateLimiter semantics).
//
// Sampling is allowed once the table holds at least `min_size_to_sample` items. With
// samples_per_insert = s > 0 it is further tied to inserts: with
//   diff = inserts * s - samples,   min_diff = s * min_size_to_sample - error_buffer,
//                                   max_diff = s * min_size_to_sample + error_buffer,
// a sample of n items needs diff - n >= min_diff, and an insert of n items (once the table
// has reached min_size_to_sample) needs (inserts + n) * s - samples <= max_diff. So the
// observed samples-per-insert ratio stays within the error buffer of s. s = 0 disables the
// ratio: only min_size_to_sample applies and inserts never block.
//
// Callers block up to their deadline (absl::CondVar), blocked time is accumulated for
// metrics, and Close() (server shutdown) wakes every waiter with CANCELLED.
// Thread-safe.
#ifndef IVG_SERVICES_REPLAY_RATE_LIMITER_H_
#define IVG_SERVICES_REPLAY_RATE_LIMITER_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/replay.pb.h"

namespace ivg::replay {

struct RateLimiterOptions {
  int64_t min_size_to_sample = 1;
  double samples_per_insert = 0.0;
  double error_buffer = 0.0;
};

class RateLimiter {
 public:
  // INVALID_ARGUMENT for min_size_to_sample < 1 or a negative ratio or buffer.
  static absl::Status Validate(const RateLimiterOptions& options);
  explicit RateLimiter(RateLimiterOptions options) : options_(options) {}

  // Blocks until `n` items may be inserted or `deadline` passes (DEADLINE_EXCEEDED) or the
  // limiter is closed (CANCELLED). Does not count the insert: call Inserted() once the
  // items are stored (a failed write then leaves the counts untouched).
  absl::Status AwaitCanInsert(int64_t n, absl::Time deadline);
  void Inserted(int64_t n);

  // Blocks until `n` samples may proceed, then counts them (atomically with the check, so
  // concurrent samplers cannot overshoot).
  absl::Status AwaitAndCountSamples(int64_t n, absl::Time deadline);

  // Items removed (eviction, max_times_sampled): the table size drops, samples may block.
  void Deleted(int64_t n);

  // Restores counts after a restart: the table already holds `size` items.
  void Restore(int64_t size);

  // Wakes all waiters with CANCELLED; later calls fail immediately. Idempotent.
  void Close();

  RateLimiterInfo Info() const;
  int64_t size() const;

 private:
  bool CanInsert(int64_t n) const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  bool CanSample(int64_t n) const ABSL_SHARED_LOCKS_REQUIRED(mutex_);
  // Shared wait loop; `can` is evaluated under mutex_.
  template <typename Pred>
  absl::Status Wait(Pred can, absl::Time deadline, int32_t* waiting, double* blocked_seconds,
                    const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const RateLimiterOptions options_;
  mutable absl::Mutex mutex_;
  absl::CondVar changed_;
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t inserts_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t deletes_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t samples_ ABSL_GUARDED_BY(mutex_) = 0;
  int32_t waiting_samplers_ ABSL_GUARDED_BY(mutex_) = 0;
  int32_t waiting_inserters_ ABSL_GUARDED_BY(mutex_) = 0;
  double sample_blocked_seconds_ ABSL_GUARDED_BY(mutex_) = 0;
  double insert_blocked_seconds_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_RATE_LIMITER_H_
