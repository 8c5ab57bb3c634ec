#include "services/replay/rate_limiter.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace ivg::replay {
namespace {

RateLimiterOptions Options(int64_t min_size, double spi = 0, double buffer = 0) {
  RateLimiterOptions o;
  o.min_size_to_sample = min_size;
  o.samples_per_insert = spi;
  o.error_buffer = buffer;
  return o;
}

TEST(RateLimiter, RejectsInvalidOptions) {
  EXPECT_TRUE(absl::IsInvalidArgument(RateLimiter::Validate(Options(0))));
  EXPECT_TRUE(absl::IsInvalidArgument(RateLimiter::Validate(Options(1, -1))));
  EXPECT_TRUE(absl::IsInvalidArgument(RateLimiter::Validate(Options(1, 4, 1))));
  EXPECT_TRUE(RateLimiter::Validate(Options(1, 4, 4)).ok());
}

TEST(RateLimiter, SampleTimesOutBelowMinSize) {
  RateLimiter limiter(Options(3));
  limiter.Inserted(2);
  absl::Status s = limiter.AwaitAndCountSamples(1, absl::Now() + absl::Milliseconds(50));
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_EQ(limiter.Info().samples(), 0);
  EXPECT_GT(limiter.Info().sample_blocked_seconds(), 0);
}

TEST(RateLimiter, BlocksSamplesUntilMinSizeReached) {
  RateLimiter limiter(Options(5));
  limiter.Inserted(4);
  std::atomic<bool> returned{false};
  absl::Status result;
  std::thread sampler([&] {
    result = limiter.AwaitAndCountSamples(2, absl::InfiniteFuture());
    returned = true;
  });
  while (limiter.Info().waiting_samplers() == 0) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_FALSE(returned);
  limiter.Inserted(1);
  sampler.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(limiter.Info().samples(), 2);
  EXPECT_EQ(limiter.Info().waiting_samplers(), 0);
}

TEST(RateLimiter, DeletesBelowMinSizeBlockSamplingAgain) {
  RateLimiter limiter(Options(2));
  limiter.Inserted(2);
  EXPECT_TRUE(limiter.AwaitAndCountSamples(1, absl::Now()).ok());
  limiter.Deleted(1);
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      limiter.AwaitAndCountSamples(1, absl::Now() + absl::Milliseconds(10))));
}

TEST(RateLimiter, SamplesPerInsertBoundsSamplesAndInserts) {
  // s = 2, min size 1, buffer 4: diff = 2 * inserts - samples in [2 - 4, 2 + 4].
  RateLimiter limiter(Options(1, 2.0, 4.0));
  limiter.Inserted(1);  // diff = 2
  // Samples may run diff down to -2: 4 samples.
  EXPECT_TRUE(limiter.AwaitAndCountSamples(4, absl::Now()).ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      limiter.AwaitAndCountSamples(1, absl::Now() + absl::Milliseconds(10))));
  // Inserts may run diff up to 6: from -2, 4 more inserts (+8) would be 6.
  EXPECT_TRUE(limiter.AwaitCanInsert(4, absl::Now()).ok());
  limiter.Inserted(4);
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      limiter.AwaitCanInsert(1, absl::Now() + absl::Milliseconds(10))));
  EXPECT_GT(limiter.Info().insert_blocked_seconds(), 0);
  // A sample makes room for the insert.
  EXPECT_TRUE(limiter.AwaitAndCountSamples(2, absl::Now()).ok());
  EXPECT_TRUE(limiter.AwaitCanInsert(1, absl::Now()).ok());
}

TEST(RateLimiter, BlockedInserterIsReleasedBySample) {
  RateLimiter limiter(Options(1, 1.0, 1.0));
  limiter.Inserted(3);  // diff = 3 > max 2 already: inserts block.
  absl::Status result;
  std::thread inserter([&] { result = limiter.AwaitCanInsert(1, absl::InfiniteFuture()); });
  while (limiter.Info().waiting_inserters() == 0) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE(limiter.AwaitAndCountSamples(2, absl::Now()).ok());
  inserter.join();
  EXPECT_TRUE(result.ok()) << result;
}

TEST(RateLimiter, CloseWakesBlockedCallersWithCancelled) {
  RateLimiter limiter(Options(10));
  absl::Status result;
  std::thread sampler([&] { result = limiter.AwaitAndCountSamples(1, absl::InfiniteFuture()); });
  while (limiter.Info().waiting_samplers() == 0) absl::SleepFor(absl::Milliseconds(1));
  limiter.Close();
  sampler.join();
  EXPECT_TRUE(absl::IsCancelled(result)) << result;
  EXPECT_TRUE(absl::IsCancelled(limiter.AwaitCanInsert(1, absl::InfiniteFuture())));
}

TEST(RateLimiter, RestoreCountsExistingItems) {
  RateLimiter limiter(Options(5, 1.0, 10.0));
  limiter.Restore(5);
  EXPECT_EQ(limiter.size(), 5);
  EXPECT_TRUE(limiter.AwaitAndCountSamples(1, absl::Now()).ok());
}

}  // namespace
}  // namespace ivg::replay
