#include "services/replay/selectors/uniform.h"

#include <map>

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace ivg::replay {
namespace {

TEST(UniformSelector, SelectsOnlyPresentKeysWithEqualProbability) {
  UniformSelector selector;
  absl::BitGen gen;
  for (uint64_t k = 0; k < 10; ++k) ASSERT_TRUE(selector.Insert(k, 1).ok());
  for (uint64_t k = 0; k < 10; k += 2) ASSERT_TRUE(selector.Delete(k).ok());
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 5000; ++i) {
    auto s = selector.Select(gen);
    ASSERT_TRUE(s.ok());
    EXPECT_DOUBLE_EQ(s->probability, 1.0 / 5);
    ++counts[s->key];
  }
  ASSERT_EQ(counts.size(), 5u);
  for (const auto& [key, count] : counts) EXPECT_EQ(key % 2, 1u);
}

TEST(UniformSelector, IgnoresPrioritiesIncludingZero) {
  UniformSelector selector;
  absl::BitGen gen;
  ASSERT_TRUE(selector.Insert(1, /*priority=*/0.0).ok());
  ASSERT_TRUE(selector.Insert(2, /*priority=*/100.0).ok());
  ASSERT_TRUE(selector.Update(2, /*priority=*/0.0).ok());
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 2000; ++i) ++counts[selector.Select(gen)->key];
  EXPECT_GT(counts[1], 800);
  EXPECT_GT(counts[2], 800);
}

}  // namespace
}  // namespace ivg::replay
