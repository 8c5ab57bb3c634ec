#include "services/replay/selectors/insertion_order.h"

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace ivg::replay {
namespace {

TEST(FifoSelector, SelectsOldestKeyAfterDeletes) {
  InsertionOrderSelector selector(InsertionOrderSelector::End::kOldest);
  absl::BitGen gen;
  for (uint64_t k : {5, 7, 9}) ASSERT_TRUE(selector.Insert(k, 1).ok());
  EXPECT_EQ(selector.Select(gen)->key, 5u);
  ASSERT_TRUE(selector.Delete(5).ok());
  EXPECT_EQ(selector.Select(gen)->key, 7u);
  EXPECT_EQ(selector.Select(gen)->probability, 1.0);
}

TEST(LifoSelector, SelectsNewestKey) {
  InsertionOrderSelector selector(InsertionOrderSelector::End::kNewest);
  absl::BitGen gen;
  for (uint64_t k : {5, 7, 9}) ASSERT_TRUE(selector.Insert(k, 1).ok());
  EXPECT_EQ(selector.Select(gen)->key, 9u);
  ASSERT_TRUE(selector.Delete(9).ok());
  EXPECT_EQ(selector.Select(gen)->key, 7u);
}

TEST(InsertionOrderSelector, OrderFollowsKeysNotPrioritiesOrInsertionCalls) {
  // Keys grow with insertion order (storage_format.h), so a restart may insert them in
  // any order (the rebuild sorts, but the selector must not depend on it).
  InsertionOrderSelector fifo(InsertionOrderSelector::End::kOldest);
  InsertionOrderSelector lifo(InsertionOrderSelector::End::kNewest);
  absl::BitGen gen;
  for (uint64_t k : {8, 3, 12}) {
    ASSERT_TRUE(fifo.Insert(k, /*priority=*/static_cast<double>(k)).ok());
    ASSERT_TRUE(lifo.Insert(k, /*priority=*/static_cast<double>(k)).ok());
  }
  ASSERT_TRUE(fifo.Update(3, /*priority=*/0.0).ok());
  EXPECT_EQ(fifo.Select(gen)->key, 3u);
  EXPECT_EQ(lifo.Select(gen)->key, 12u);
  EXPECT_EQ(fifo.size(), 3);
}

}  // namespace
}  // namespace ivg::replay
