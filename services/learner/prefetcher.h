// A background thread that produces the next items while the consumer works on the current
// one, with a bounded queue (Reverb's and Acme's prefetching datasets). The learner uses it
// to sample and decode the next batch from the replay while the current step trains, so a
// step does not wait on the replay when data is there.
//
// Every produced item is delivered exactly once, in the order it was produced. An error from
// the producer ends production: it is delivered after the items produced before it, and
// returned again by every later Next().
//
// Exact resume: a source whose sampling state can be saved (an in-memory buffer's
// generator) would be saved ahead of what was trained on, by the items waiting in the
// queue. So `save_state` is called on the producer thread after each item is produced, and
// StateBeforeNext() returns the state from which the next undelivered item was (or will be)
// produced: a run resumed from it samples exactly the items this one has not trained on.
//
// Thread-safety: Next() from one consumer thread; StateBeforeNext() and Stop() from any.
#ifndef IVG_SERVICES_LEARNER_PREFETCHER_H_
#define IVG_SERVICES_LEARNER_PREFETCHER_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ivg::learner {

template <typename T>
class Prefetcher {
 public:
  // Produces one item; may block, and should return (an error is fine) soon after
  // `cancelled()` turns true.
  using Produce = std::function<absl::StatusOr<T>(const std::function<bool()>& cancelled)>;
  using SaveState = std::function<std::string()>;

  // Starts the producer thread at once; at most `capacity` (>= 1) items wait in the queue.
  // The first save_state() runs here, on the caller's thread, before the producer starts.
  Prefetcher(int capacity, Produce produce, SaveState save_state)
      : capacity_(capacity < 1 ? 1 : capacity),
        produce_(std::move(produce)),
        save_state_(std::move(save_state)),
        next_state_(save_state_ ? save_state_() : std::string()),
        thread_([this] { ProduceLoop(); }) {}

  ~Prefetcher() { Stop(); }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The next item in production order; blocks until one is ready. After Stop(), items
  // already queued are still delivered, then CANCELLED.
  absl::StatusOr<T> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [this] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      if (final_error_.has_value()) return *final_error_;
      return absl::CancelledError("the prefetcher was stopped");
    }
    Entry entry = std::move(queue_.front());
    queue_.pop_front();
    space_.notify_one();
    if (!entry.value.ok()) final_error_ = entry.value.status();
    return std::move(entry.value);
  }

  // The producer's state before the next undelivered item.
  std::string StateBeforeNext() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.empty() ? next_state_ : queue_.front().state_before;
  }

  // Asks the producer to stop and waits for its thread. Idempotent.
  void Stop() {
    cancelled_.store(true);
    {
      std::lock_guard<std::mutex> lock(mu_);
      space_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  // Items waiting in the queue (for metrics and tests).
  int queued() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(queue_.size());
  }

 private:
  struct Entry {
    absl::StatusOr<T> value;
    std::string state_before;
  };

  void ProduceLoop() {
    const std::function<bool()> cancelled = [this] { return cancelled_.load(); };
    std::string state_before;
    {
      std::lock_guard<std::mutex> lock(mu_);
      state_before = next_state_;
    }
    while (!cancelled()) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        space_.wait(lock, [&] { return static_cast<int>(queue_.size()) < capacity_ ||
                                       cancelled(); });
        if (cancelled()) break;
      }
      absl::StatusOr<T> value = produce_(cancelled);
      const bool failed = !value.ok();
      // The source is only touched on this thread (and by the constructor before it
      // started): saving and producing never race.
      std::string state_after = save_state_ ? save_state_() : std::string();
      {
        std::lock_guard<std::mutex> lock(mu_);
        // A failure caused by Stop() is not data; anything else is delivered in order.
        if (!(failed && cancelled())) {
          queue_.push_back({std::move(value), std::move(state_before)});
          next_state_ = state_after;
        }
        ready_.notify_one();
      }
      if (failed) break;
      state_before = std::move(state_after);
    }
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    ready_.notify_all();
  }

  const int capacity_;
  Produce produce_;
  SaveState save_state_;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  std::condition_variable ready_;  // An item was queued, or production ended.
  std::condition_variable space_;  // An item was taken, or Stop() was called.
  std::deque<Entry> queue_;
  // The state after the last queued item: before the next one the producer makes.
  std::string next_state_;
  bool finished_ = false;
  std::optional<absl::Status> final_error_;
  // Last: it starts in the constructor and uses every member above.
  std::thread thread_;
};

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_PREFETCHER_H_
