#include "common/metrics/metrics_server.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/metrics/http_get.h"
#include "tests/testing/subprocess.h"

namespace ivg::metrics {
namespace {

using ::testing::HasSubstr;

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = MetricsServer::Create("127.0.0.1:0", &registry_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
  }
  MetricRegistry registry_;
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, ServesRecordedValuesThatPromtoolAccepts) {
  auto& inserts = registry_.AddCounter("ivg_replay_inserts_total", "Episodes inserted.", {"shard"});
  inserts.WithLabels({"0"})->Increment(7);
  inserts.WithLabels({"1"})->Increment(2);
  registry_.AddGauge("ivg_replay_items", "Items stored.", {"shard"}).WithLabels({"0"})->Set(42);
  auto* latency = registry_
                      .AddHistogram("ivg_replay_sample_latency_seconds",
                                    "Sample latency.\nSecond line with \\ backslash.", {"shard"},
                                    DefaultLatencyBuckets())
                      .WithLabels({"0"});
  latency->Observe(0.003);
  latency->Observe(0.2);

  auto response = HttpGet("127.0.0.1", server_->port(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_THAT(response->headers, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(response->body, HasSubstr("ivg_replay_inserts_total{shard=\"0\"} 7\n"));
  EXPECT_THAT(response->body, HasSubstr("ivg_replay_inserts_total{shard=\"1\"} 2\n"));
  EXPECT_THAT(response->body, HasSubstr("ivg_replay_items{shard=\"0\"} 42\n"));
  EXPECT_THAT(response->body,
              HasSubstr("ivg_replay_sample_latency_seconds_count{shard=\"0\"} 2\n"));
  EXPECT_THAT(response->body,
              HasSubstr("ivg_replay_sample_latency_seconds_bucket{shard=\"0\",le=\"+Inf\"} 2\n"));

  const std::string promtool = IVG_PROMTOOL;
  ASSERT_FALSE(promtool.empty()) << "promtool (Debian package prometheus) is required";
  const auto check = ivg::testing::RunCommand(absl::StrCat(promtool, " check metrics"),
                                              response->body);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n--- served text ---\n" << response->body;
}

TEST_F(MetricsServerTest, PromtoolRejectsBrokenExposition) {
  // Guards the check above: promtool must really be judging the text.
  const auto check = ivg::testing::RunCommand(absl::StrCat(IVG_PROMTOOL, " check metrics"),
                                              "# TYPE x counter\nx{a=\"1\" 1\n");
  EXPECT_NE(check.exit_code, 0) << check.output;
}

TEST_F(MetricsServerTest, UnknownPathIsNotFound) {
  auto response = HttpGet("127.0.0.1", server_->port(), "/nothing-here");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status_code, 404);
}

TEST_F(MetricsServerTest, SecondServerOnTheSamePortFailsClearly) {
  MetricRegistry other;
  auto second = MetricsServer::Create(absl::StrCat("127.0.0.1:", server_->port()), &other);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr(absl::StrCat(server_->port())));
}

}  // namespace
}  // namespace ivg::metrics
