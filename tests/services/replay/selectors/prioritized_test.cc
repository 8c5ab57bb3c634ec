#include "services/replay/selectors/prioritized.h"

#include <cmath>
#include <map>

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace ivg::replay {
namespace {

TEST(PrioritizedSelector, ProbabilitiesFollowPriorityToTheExponent) {
  const double exponent = 0.5;
  PrioritizedSelector selector(exponent);
  absl::BitGen gen;
  const std::map<uint64_t, double> priorities = {{1, 1.0}, {2, 4.0}, {3, 9.0}, {4, 0.0}};
  for (const auto& [k, p] : priorities) ASSERT_TRUE(selector.Insert(k, p).ok());
  double total = 0;
  for (const auto& [k, p] : priorities) total += std::pow(p, exponent);
  std::map<uint64_t, int> counts;
  const int n = 60000;
  for (int i = 0; i < n; ++i) {
    auto s = selector.Select(gen);
    ASSERT_TRUE(s.ok());
    EXPECT_NEAR(s->probability, std::pow(priorities.at(s->key), exponent) / total, 1e-12);
    ++counts[s->key];
  }
  EXPECT_EQ(counts.count(4), 0u) << "zero priority must never be selected";
  for (uint64_t k : {1, 2, 3}) {
    const double expected = std::pow(priorities.at(k), exponent) / total;
    EXPECT_NEAR(counts[k] / static_cast<double>(n), expected, 0.015) << "key " << k;
  }
}

TEST(PrioritizedSelector, UpdateAndDeleteChangeTheDistribution) {
  PrioritizedSelector selector(1.0);
  absl::BitGen gen;
  for (uint64_t k = 0; k < 100; ++k) ASSERT_TRUE(selector.Insert(k, 1.0).ok());
  for (uint64_t k = 0; k < 99; ++k) ASSERT_TRUE(selector.Update(k, 0.0).ok());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(selector.Select(gen)->key, 99u);
  ASSERT_TRUE(selector.Delete(99).ok());
  ASSERT_TRUE(selector.Update(42, 2.0).ok());
  EXPECT_EQ(selector.Select(gen)->key, 42u);
  EXPECT_EQ(selector.size(), 99);
}

TEST(PrioritizedSelector, AllZeroPrioritiesSelectUniformly) {
  PrioritizedSelector selector(/*exponent=*/0.6);
  absl::BitGen gen;
  for (uint64_t k = 0; k < 4; ++k) ASSERT_TRUE(selector.Insert(k, 0.0).ok());
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    auto s = selector.Select(gen);
    ASSERT_TRUE(s.ok());
    EXPECT_DOUBLE_EQ(s->probability, 0.25);
    ++counts[s->key];
  }
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [key, count] : counts) EXPECT_GT(count, 800) << "key " << key;
}

TEST(PrioritizedSelector, KeepsItsSumsWhenItGrowsAndShrinks) {
  // 40 keys outgrow the tree twice (16, 32); deletes move the last leaf into the hole.
  PrioritizedSelector selector(/*exponent=*/1.0);
  absl::BitGen gen;
  for (uint64_t k = 0; k < 40; ++k) ASSERT_TRUE(selector.Insert(k, k == 39 ? 41.0 : 1.0).ok());
  for (uint64_t k = 0; k < 20; ++k) ASSERT_TRUE(selector.Delete(k).ok());
  // Left: 19 keys of priority 1 and key 39 of priority 41.
  bool seen = false;
  for (int i = 0; i < 1000 && !seen; ++i) {
    auto s = selector.Select(gen);
    ASSERT_TRUE(s.ok());
    if (s->key == 39) {
      EXPECT_DOUBLE_EQ(s->probability, 41.0 / 60.0);
      seen = true;
    } else {
      EXPECT_GE(s->key, 20u);
      EXPECT_DOUBLE_EQ(s->probability, 1.0 / 60.0);
    }
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(selector.size(), 20);
}

}  // namespace
}  // namespace ivg::replay
