#include "common/metrics/metrics.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg::metrics {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, CounterOnlyGoesUp) {
  Counter counter;
  counter.Increment(2.5);
  counter.Increment(-1.0);
  counter.Increment();
  EXPECT_DOUBLE_EQ(counter.Value(), 3.5);
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 10000; ++i) counter.Increment();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_DOUBLE_EQ(counter.Value(), 40000.0);
}

TEST(Metrics, HistogramBucketsUseLessOrEqual) {
  Histogram histogram({1.0, 2.0});
  histogram.Observe(1.0);
  histogram.Observe(1.5);
  histogram.Observe(5.0);
  const auto snapshot = histogram.Collect();
  EXPECT_THAT(snapshot.bucket_counts, ::testing::ElementsAre(1, 1, 1));
  EXPECT_EQ(snapshot.count, 3u);
  EXPECT_DOUBLE_EQ(snapshot.sum, 7.5);
}

TEST(Metrics, SerializesCountersGaugesAndCumulativeHistograms) {
  MetricRegistry registry;
  registry.AddCounter("ivg_test_events_total", "Events.", {"kind"})
      .WithLabels({"a\"b"})
      ->Increment(3);
  registry.AddGauge("ivg_test_queue_depth", "Queue depth.").Get()->Set(-2);
  auto* histogram =
      registry.AddHistogram("ivg_test_latency_seconds", "Latency.", {}, {0.1, 1.0}).Get();
  histogram->Observe(0.05);
  histogram->Observe(0.5);
  histogram->Observe(3);
  const std::string text = registry.Serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE ivg_test_events_total counter\n"));
  EXPECT_THAT(text, HasSubstr("ivg_test_events_total{kind=\"a\\\"b\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("ivg_test_queue_depth -2\n"));
  EXPECT_THAT(text, HasSubstr("ivg_test_latency_seconds_bucket{le=\"0.10000000000000001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ivg_test_latency_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("ivg_test_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("ivg_test_latency_seconds_count 3\n"));
  EXPECT_THAT(text, HasSubstr("ivg_test_latency_seconds_sum 3.5499999999999998\n"));
}

TEST(Metrics, RegisteringTheSameFamilyTwiceReturnsIt) {
  MetricRegistry registry;
  auto& first = registry.AddCounter("ivg_test_x_total", "X.", {"shard"});
  auto& second = registry.AddCounter("ivg_test_x_total", "X.", {"shard"});
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(first.WithLabels({"0"}), second.WithLabels({"0"}));
}

TEST(MetricsDeathTest, WrongLabelCountAborts) {
  MetricRegistry registry;
  auto& family = registry.AddGauge("ivg_test_g", "G.", {"a", "b"});
  EXPECT_DEATH(family.WithLabels({"only-one"}), "takes 2 label values");
}

}  // namespace
}  // namespace ivg::metrics
