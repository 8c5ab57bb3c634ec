#include "services/learner/prefetcher.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ivg::learner {
namespace {

// A producer of 0, 1, 2, ... whose "sampling state" is the next number it will produce, as
// an in-memory source's generator state would be.
struct Counter {
  std::atomic<int> next{0};
  Prefetcher<int>::Produce Produce() {
    return [this](const std::function<bool()>&) -> absl::StatusOr<int> { return next++; };
  }
  Prefetcher<int>::SaveState Save() {
    return [this] { return std::to_string(next.load()); };
  }
};

TEST(Prefetcher, DeliversEveryItemExactlyOnceInProductionOrder) {
  Counter counter;
  Prefetcher<int> prefetcher(2, counter.Produce(), counter.Save());
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<int> item = prefetcher.Next();
    ASSERT_TRUE(item.ok()) << item.status();
    ASSERT_EQ(*item, i);
    ASSERT_LE(prefetcher.queued(), 2);
  }
}

TEST(Prefetcher, TheSavedStateIsTheStateBeforeTheNextUndeliveredItem) {
  Counter counter;
  Prefetcher<int> prefetcher(3, counter.Produce(), counter.Save());
  EXPECT_EQ(prefetcher.StateBeforeNext(), "0");
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(*prefetcher.Next(), i);
    // Whatever the producer has made ahead (up to 3 items), a resume from this state
    // produces item i + 1 next: nothing queued is skipped, nothing delivered is repeated.
    ASSERT_EQ(prefetcher.StateBeforeNext(), std::to_string(i + 1));
  }
}

TEST(Prefetcher, AnErrorIsDeliveredAfterTheItemsBeforeItAndEndsProduction) {
  std::atomic<int> calls{0};
  Prefetcher<int> prefetcher(
      4,
      [&](const std::function<bool()>&) -> absl::StatusOr<int> {
        const int n = calls++;
        if (n == 3) return absl::DataLossError("replay item 3 is corrupt");
        return n;
      },
      nullptr);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*prefetcher.Next(), i);
  EXPECT_EQ(prefetcher.Next().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(prefetcher.Next().status().code(), absl::StatusCode::kDataLoss);
  prefetcher.Stop();
  EXPECT_EQ(calls.load(), 4);
}

TEST(Prefetcher, StopEndsAProducerThatIsWaitingForData) {
  // The producer waits (as a learner waits for an empty replay) until it is cancelled.
  std::mutex mu;
  std::condition_variable entered_cv;
  bool entered = false;
  Prefetcher<int> prefetcher(
      2,
      [&](const std::function<bool()>& cancelled) -> absl::StatusOr<int> {
        {
          std::lock_guard<std::mutex> lock(mu);
          entered = true;
        }
        entered_cv.notify_all();
        while (!cancelled()) std::this_thread::yield();
        return absl::CancelledError("stopped while waiting for data");
      },
      nullptr);
  {
    std::unique_lock<std::mutex> lock(mu);
    entered_cv.wait(lock, [&] { return entered; });
  }
  prefetcher.Stop();  // Returns: the thread has ended.
  EXPECT_EQ(prefetcher.Next().status().code(), absl::StatusCode::kCancelled);
  prefetcher.Stop();  // Idempotent.
}

TEST(Prefetcher, StopWithAFullQueueStillDeliversWhatWasQueued) {
  Counter counter;
  Prefetcher<int> prefetcher(2, counter.Produce(), counter.Save());
  ASSERT_EQ(*prefetcher.Next(), 0);  // The producer has run at least once.
  prefetcher.Stop();
  std::vector<int> rest;
  for (absl::StatusOr<int> item = prefetcher.Next(); item.ok(); item = prefetcher.Next()) {
    rest.push_back(*item);
  }
  // Whatever was queued at the stop, in order, without gaps; at most the capacity.
  ASSERT_LE(rest.size(), 2u);
  for (size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i], static_cast<int>(i) + 1);
  EXPECT_EQ(prefetcher.Next().status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace ivg::learner
