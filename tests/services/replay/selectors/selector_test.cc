// What every selector shares: the Selector contract, and the factories that build the
// configured selector and remover.
#include "services/replay/selectors/selector.h"

#include <cmath>
#include <set>

#include "absl/random/random.h"
#include "gtest/gtest.h"
#include "services/replay/selectors/selector_factory.h"

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

TEST(Selectors, MakeSelectorBuildsTheConfiguredKind) {
  EXPECT_EQ(MakeSelector(SELECTOR_UNIFORM, 0.6)->name(), "uniform");
  EXPECT_EQ(MakeSelector(SELECTOR_FIFO, 0.6)->name(), "fifo");
  EXPECT_EQ(MakeSelector(SELECTOR_LIFO, 0.6)->name(), "lifo");
  EXPECT_EQ(MakeSelector(SELECTOR_PRIORITIZED, 0.6)->name(), "prioritized");
}

TEST(Selectors, CheckPriorityAcceptsOnlyFiniteNonNegativeValues) {
  EXPECT_TRUE(CheckPriority(0.0).ok());
  EXPECT_TRUE(CheckPriority(3.5).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(CheckPriority(-0.5)));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckPriority(INFINITY)));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckPriority(NAN)));
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
