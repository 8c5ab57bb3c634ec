#include "services/replay/rate_limiter.h"

#include "absl/strings/str_cat.h"

namespace ivg::replay {

absl::Status RateLimiter::Validate(const RateLimiterOptions& o) {
  if (o.min_size_to_sample < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_size_to_sample must be >= 1, got ", o.min_size_to_sample));
  }
  if (!(o.samples_per_insert >= 0) || !(o.error_buffer >= 0)) {
    return absl::InvalidArgumentError("samples_per_insert and error_buffer must be >= 0");
  }
  if (o.samples_per_insert > 0 && o.error_buffer < o.samples_per_insert) {
    // Reverb's rule: with a buffer smaller than one insert's worth of samples the limiter
    // can deadlock (neither side may move).
    return absl::InvalidArgumentError(absl::StrCat(
        "samples_per_insert_error_buffer (", o.error_buffer,
        ") must be >= samples_per_insert (", o.samples_per_insert, ")"));
  }
  return absl::OkStatus();
}

bool RateLimiter::CanInsert(int64_t n) const {
  if (options_.samples_per_insert <= 0) return true;
  // Inserting while below min size is always allowed (nothing can be sampled yet).
  if (inserts_ - deletes_ + n <= options_.min_size_to_sample) return true;
  const double max_diff =
      options_.samples_per_insert * options_.min_size_to_sample + options_.error_buffer;
  return (inserts_ + n) * options_.samples_per_insert - samples_ <= max_diff;
}

bool RateLimiter::CanSample(int64_t n) const {
  if (inserts_ - deletes_ < options_.min_size_to_sample) return false;
  if (options_.samples_per_insert <= 0) return true;
  const double min_diff =
      options_.samples_per_insert * options_.min_size_to_sample - options_.error_buffer;
  return inserts_ * options_.samples_per_insert - samples_ - n >= min_diff;
}

template <typename Pred>
absl::Status RateLimiter::Wait(Pred can, absl::Time deadline, int32_t* waiting,
                               double* blocked_seconds, const char* what) {
  if (closed_) return absl::CancelledError("replay rate limiter is closed (shutting down)");
  if (can()) return absl::OkStatus();
  const absl::Time start = absl::Now();
  ++*waiting;
  absl::Status status = absl::OkStatus();
  while (true) {
    if (closed_) {
      status = absl::CancelledError("replay rate limiter closed (shutting down) while waiting");
      break;
    }
    if (can()) break;
    if (changed_.WaitWithDeadline(&mutex_, deadline) && absl::Now() >= deadline) {
      if (closed_) continue;
      if (can()) break;
      status = absl::DeadlineExceededError(absl::StrCat(
          "the rate limiter did not allow ", what, " before the deadline (table holds ",
          inserts_ - deletes_, " items, min_size_to_sample ", options_.min_size_to_sample,
          ", inserts ", inserts_, ", samples ", samples_, ")"));
      break;
    }
  }
  --*waiting;
  *blocked_seconds += absl::ToDoubleSeconds(absl::Now() - start);
  return status;
}

absl::Status RateLimiter::AwaitCanInsert(int64_t n, absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  return Wait([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return CanInsert(n); }, deadline,
              &waiting_inserters_, &insert_blocked_seconds_, "inserting");
}

void RateLimiter::Inserted(int64_t n) {
  absl::MutexLock lock(&mutex_);
  inserts_ += n;
  changed_.SignalAll();
}

absl::Status RateLimiter::AwaitAndCountSamples(int64_t n, absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  absl::Status status =
      Wait([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return CanSample(n); }, deadline,
           &waiting_samplers_, &sample_blocked_seconds_, "sampling");
  if (!status.ok()) return status;
  samples_ += n;
  changed_.SignalAll();
  return absl::OkStatus();
}

void RateLimiter::Deleted(int64_t n) {
  absl::MutexLock lock(&mutex_);
  deletes_ += n;
  changed_.SignalAll();
}

void RateLimiter::Restore(int64_t size) {
  absl::MutexLock lock(&mutex_);
  // Treat the restored items as inserted with their samples already consumed at the target
  // ratio, so the ratio check starts balanced.
  inserts_ = size;
  deletes_ = 0;
  samples_ = static_cast<int64_t>(size * options_.samples_per_insert);
  changed_.SignalAll();
}

void RateLimiter::Close() {
  absl::MutexLock lock(&mutex_);
  closed_ = true;
  changed_.SignalAll();
}

int64_t RateLimiter::size() const {
  absl::MutexLock lock(&mutex_);
  return inserts_ - deletes_;
}

RateLimiterInfo RateLimiter::Info() const {
  absl::MutexLock lock(&mutex_);
  RateLimiterInfo info;
  info.set_min_size_to_sample(options_.min_size_to_sample);
  info.set_samples_per_insert(options_.samples_per_insert);
  info.set_error_buffer(options_.error_buffer);
  info.set_inserts(inserts_);
  info.set_samples(samples_);
  info.set_insert_blocked_seconds(insert_blocked_seconds_);
  info.set_sample_blocked_seconds(sample_blocked_seconds_);
  info.set_waiting_samplers(waiting_samplers_);
  info.set_waiting_inserters(waiting_inserters_);
  return info;
}

}  // namespace ivg::replay
