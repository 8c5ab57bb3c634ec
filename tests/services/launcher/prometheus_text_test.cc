#include "services/launcher/prometheus_text.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg::launcher {
namespace {

TEST(PrometheusText, ParsesSamplesWithLabelsAndSpecialValues) {
  const std::string text =
      "# HELP ivg_x_total X.\n"
      "# TYPE ivg_x_total counter\n"
      "ivg_x_total{actor=\"1\",task=\"LIFT_RED\"} 3\n"
      "ivg_x_total{actor=\"2\",task=\"LIFT_RED\"} 4.5\n"
      "ivg_y 2.9915000000000001e-05\n"
      "ivg_z{le=\"+Inf\",q=\"a\\\"b\"} +Inf\n";
  auto samples = ParsePrometheusText(text);
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 4u);
  EXPECT_DOUBLE_EQ(SumSamples(*samples, "ivg_x_total"), 7.5);
  EXPECT_DOUBLE_EQ(SumSamples(*samples, "ivg_x_total", {{"actor", "2"}}), 4.5);
  EXPECT_DOUBLE_EQ(SumSamples(*samples, "ivg_y"), 2.9915000000000001e-05);
  EXPECT_EQ((*samples)[3].labels.at("q"), "a\"b");
  EXPECT_TRUE(std::isinf((*samples)[3].value));
  EXPECT_TRUE(HasSample(*samples, "ivg_y"));
  EXPECT_FALSE(HasSample(*samples, "ivg_w"));
}

TEST(PrometheusText, MalformedLinesAreErrorsNamingTheLine) {
  auto no_value = ParsePrometheusText("ivg_x{a=\"1\"}\n");
  ASSERT_FALSE(no_value.ok());
  EXPECT_THAT(no_value.status().message(), ::testing::HasSubstr("ivg_x{a=\"1\"}"));
  EXPECT_FALSE(ParsePrometheusText("ivg_x{a=\"1\" 2\n").ok());
  EXPECT_FALSE(ParsePrometheusText("ivg_x abc\n").ok());
}

}  // namespace
}  // namespace ivg::launcher
