#include <cmath>
#include <map>

#include "absl/random/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/replay/selectors/insertion_order.h"
#include "services/replay/selectors/prioritized.h"
#include "services/replay/selectors/selector.h"
#include "services/replay/selectors/uniform.h"

namespace ivg::replay {
namespace {

TEST(Selectors, EmptySelectorFailsToSelect) {
  absl::BitGen gen;
  for (SelectorType type : {SELECTOR_UNIFORM, SELECTOR_FIFO, SELECTOR_LIFO, SELECTOR_PRIORITIZED}) {
    auto selector = MakeSelector(type, 0.6);
    EXPECT_TRUE(absl::IsFailedPrecondition(selector->Select(gen).status())) << selector->name();
  }
}

TEST(Selectors, RejectDuplicateKeysUnknownKeysAndBadPriorities) {
  for (SelectorType type : {SELECTOR_UNIFORM, SELECTOR_FIFO, SELECTOR_LIFO, SELECTOR_PRIORITIZED}) {
    auto selector = MakeSelector(type, 0.6);
    ASSERT_TRUE(selector->Insert(1, 1.0).ok());
    EXPECT_TRUE(absl::IsAlreadyExists(selector->Insert(1, 1.0))) << selector->name();
    EXPECT_TRUE(absl::IsNotFound(selector->Delete(2))) << selector->name();
    EXPECT_TRUE(absl::IsNotFound(selector->Update(2, 1.0))) << selector->name();
    EXPECT_TRUE(absl::IsInvalidArgument(selector->Insert(3, -1.0))) << selector->name();
    EXPECT_TRUE(absl::IsInvalidArgument(selector->Insert(3, NAN))) << selector->name();
    EXPECT_EQ(selector->size(), 1);
  }
}

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

TEST(Removers, FifoRemoverPicksOldestAndUniformRemoverPicksAnyPresentKey) {
  absl::BitGen gen;
  auto fifo = MakeRemover(REMOVER_FIFO);
  auto uniform = MakeRemover(REMOVER_UNIFORM);
  EXPECT_EQ(fifo->name(), "fifo");
  EXPECT_EQ(uniform->name(), "uniform");
  for (uint64_t k = 10; k < 20; ++k) {
    ASSERT_TRUE(fifo->Insert(k, 1).ok());
    ASSERT_TRUE(uniform->Insert(k, 1).ok());
  }
  std::set<uint64_t> removed;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(fifo->Select(gen)->key, 10u + i);
    ASSERT_TRUE(fifo->Delete(10 + i).ok());
    auto victim = uniform->Select(gen);
    ASSERT_TRUE(victim.ok());
    EXPECT_TRUE(removed.insert(victim->key).second);
    ASSERT_TRUE(uniform->Delete(victim->key).ok());
  }
  EXPECT_EQ(removed.size(), 10u);
  EXPECT_EQ(uniform->size(), 0);
}

}  // namespace
}  // namespace ivg::replay
