#include "services/replay/item_index.h"

#include <memory>
#include <set>
#include <vector>

#include "absl/random/random.h"
#include "gtest/gtest.h"
#include "services/replay/selectors/insertion_order.h"
#include "services/replay/selectors/selector_factory.h"
#include "services/replay/selectors/uniform.h"

namespace ivg::replay {
namespace {

// An item of `length` steps starting at `offset` in the first of `chunks`.
IndexedItem Item(uint64_t key, std::vector<uint64_t> chunks, int32_t offset = 0,
                 int32_t length = 8) {
  IndexedItem item;
  item.record.key = key;
  item.record.offset = offset;
  item.record.length = length;
  item.record.chunk_keys = std::move(chunks);
  item.record.chunk_steps.assign(item.record.chunk_keys.size(), 8);
  return item;
}

std::set<uint64_t> ItemKeys(const RemovedItems& removed) {
  std::set<uint64_t> keys;
  for (const IndexedItem& item : removed.items) keys.insert(item.record.key);
  return keys;
}

std::set<uint64_t> ChunkKeys(const RemovedItems& removed) {
  std::set<uint64_t> keys;
  for (const auto& [key, info] : removed.chunks) keys.insert(key);
  return keys;
}

class ItemIndexTest : public ::testing::Test {
 protected:
  // Uniform sampling, FIFO eviction: evictions are deterministic.
  ItemIndexTest()
      : index_(std::make_unique<UniformSelector>(),
               std::make_unique<InsertionOrderSelector>(InsertionOrderSelector::End::kOldest)) {}

  // Chunks 1 and 2 (8 steps, 100 and 200 bytes); item 10 in chunk 1, item 11 straddling
  // both, item 12 in chunk 2.
  void AddTwoChunksThreeItems() {
    ASSERT_TRUE(index_.AddChunk(1, /*steps=*/8, /*bytes=*/100));
    ASSERT_TRUE(index_.AddChunk(2, /*steps=*/8, /*bytes=*/200));
    ASSERT_TRUE(index_.AddItem(Item(10, {1})).ok());
    ASSERT_TRUE(index_.AddItem(Item(11, {1, 2}, /*offset=*/4)).ok());
    ASSERT_TRUE(index_.AddItem(Item(12, {2})).ok());
  }

  absl::BitGen gen_;
  ItemIndex index_;
};

TEST_F(ItemIndexTest, CountsOneReferencePerItemOnEachOfItsChunks) {
  AddTwoChunksThreeItems();
  EXPECT_EQ(index_.num_items(), 3);
  EXPECT_EQ(index_.num_chunks(), 2);
  EXPECT_EQ(index_.chunk_refs(1), 2);
  EXPECT_EQ(index_.chunk_refs(2), 2);
  EXPECT_EQ(index_.num_steps(), 16);
  EXPECT_EQ(index_.stored_bytes(), 300);
  EXPECT_EQ(index_.record(11).offset, 4);
}

TEST_F(ItemIndexTest, ChunkIsDroppedOnlyWithTheLastItemReferencingIt) {
  AddTwoChunksThreeItems();
  RemovedItems removed;
  index_.RemoveItem(10, &removed);
  EXPECT_EQ(ItemKeys(removed), (std::set<uint64_t>{10}));
  EXPECT_TRUE(removed.chunks.empty()) << "chunk 1 is still referenced by item 11";
  EXPECT_TRUE(index_.has_chunk(1));
  EXPECT_EQ(index_.chunk_refs(1), 1);

  index_.RemoveItem(11, &removed);
  EXPECT_EQ(ChunkKeys(removed), (std::set<uint64_t>{1}));
  EXPECT_FALSE(index_.has_chunk(1));
  EXPECT_EQ(index_.chunk_refs(2), 1);
  EXPECT_EQ(index_.num_steps(), 8);
  EXPECT_EQ(index_.stored_bytes(), 200);

  index_.RemoveItem(12, &removed);
  EXPECT_EQ(ChunkKeys(removed), (std::set<uint64_t>{1, 2}));
  EXPECT_EQ(index_.num_items(), 0);
  EXPECT_EQ(index_.num_chunks(), 0);
  EXPECT_EQ(index_.num_steps(), 0);
  EXPECT_EQ(index_.stored_bytes(), 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(index_.Select(gen_).status()));
}

TEST_F(ItemIndexTest, RemovedItemsAreNeverSelected) {
  AddTwoChunksThreeItems();
  RemovedItems removed;
  index_.RemoveItem(11, &removed);
  for (int i = 0; i < 200; ++i) {
    auto s = index_.Select(gen_);
    ASSERT_TRUE(s.ok());
    EXPECT_NE(s->key, 11u);
    EXPECT_DOUBLE_EQ(s->probability, 0.5);
  }
}

TEST_F(ItemIndexTest, EvictTakesTheRemoversPicksAndStopsWhenEmpty) {
  AddTwoChunksThreeItems();
  RemovedItems removed;
  EXPECT_EQ(index_.Evict(/*count=*/0, gen_, &removed), 0);
  EXPECT_EQ(index_.Evict(/*count=*/-3, gen_, &removed), 0);
  EXPECT_TRUE(removed.empty());
  EXPECT_EQ(index_.Evict(/*count=*/1, gen_, &removed), 1);
  EXPECT_EQ(ItemKeys(removed), (std::set<uint64_t>{10})) << "FIFO remover evicts the oldest";
  EXPECT_EQ(index_.Evict(/*count=*/10, gen_, &removed), 2);
  EXPECT_EQ(index_.num_items(), 0);
  EXPECT_EQ(ChunkKeys(removed), (std::set<uint64_t>{1, 2}));
}

TEST_F(ItemIndexTest, RestoreUndoesAnEvictionExactly) {
  AddTwoChunksThreeItems();
  ASSERT_EQ(index_.CountSample(12), 1);
  RemovedItems removed;
  ASSERT_EQ(index_.Evict(/*count=*/3, gen_, &removed), 3);
  ASSERT_EQ(index_.num_chunks(), 0);

  index_.Restore(std::move(removed));
  EXPECT_EQ(index_.num_items(), 3);
  EXPECT_EQ(index_.num_chunks(), 2);
  EXPECT_EQ(index_.chunk_refs(1), 2);
  EXPECT_EQ(index_.chunk_refs(2), 2);
  EXPECT_EQ(index_.num_steps(), 16);
  EXPECT_EQ(index_.stored_bytes(), 300);
  EXPECT_EQ(index_.CountSample(12), 2) << "times_sampled is part of the restored state";
  // The remover has the items back, in their order; reference counts still drop chunks.
  RemovedItems again;
  ASSERT_EQ(index_.Evict(/*count=*/2, gen_, &again), 2);
  EXPECT_EQ(ItemKeys(again), (std::set<uint64_t>{10, 11}));
  EXPECT_EQ(ChunkKeys(again), (std::set<uint64_t>{1}));
  EXPECT_EQ(index_.stored_bytes(), 200);
}

TEST_F(ItemIndexTest, RestoreUndoesAPartialEvictionWithoutDoubleCounting) {
  AddTwoChunksThreeItems();
  RemovedItems removed;
  ASSERT_EQ(index_.Evict(/*count=*/1, gen_, &removed), 1);  // Item 10; chunk 1 survives.
  ASSERT_TRUE(removed.chunks.empty());
  index_.Restore(std::move(removed));
  EXPECT_EQ(index_.num_items(), 3);
  EXPECT_EQ(index_.chunk_refs(1), 2);
  EXPECT_EQ(index_.num_steps(), 16);
  EXPECT_EQ(index_.stored_bytes(), 300);
}

TEST_F(ItemIndexTest, RejectedItemLeavesTheIndexAsItWas) {
  AddTwoChunksThreeItems();
  EXPECT_TRUE(absl::IsAlreadyExists(index_.AddItem(Item(10, {2}))));
  IndexedItem bad_priority = Item(13, {2});
  bad_priority.record.priority = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(index_.AddItem(bad_priority)));
  EXPECT_EQ(index_.num_items(), 3);
  EXPECT_FALSE(index_.contains(13));
  EXPECT_EQ(index_.chunk_refs(2), 2);
  // Item 10 still references chunk 1 only.
  RemovedItems removed;
  index_.RemoveItem(11, &removed);
  index_.RemoveItem(10, &removed);
  EXPECT_EQ(ChunkKeys(removed), (std::set<uint64_t>{1}));
}

TEST_F(ItemIndexTest, AddChunkKeepsAnIndexedChunk) {
  ASSERT_TRUE(index_.AddChunk(1, /*steps=*/8, /*bytes=*/100));
  EXPECT_FALSE(index_.AddChunk(1, /*steps=*/4, /*bytes=*/50));
  EXPECT_EQ(index_.num_chunks(), 1);
  EXPECT_EQ(index_.num_steps(), 8);
  EXPECT_EQ(index_.stored_bytes(), 100);
  EXPECT_EQ(index_.chunk_refs(1), 0);
}

TEST_F(ItemIndexTest, CountSampleCountsPerItem) {
  AddTwoChunksThreeItems();
  EXPECT_EQ(index_.CountSample(10), 1);
  EXPECT_EQ(index_.CountSample(10), 2);
  EXPECT_EQ(index_.CountSample(11), 1);
}

TEST(ItemIndex, NamesItsSelectorAndRemover) {
  ItemIndex index(MakeSelector(SELECTOR_PRIORITIZED, 0.6), MakeRemover(REMOVER_FIFO));
  EXPECT_EQ(index.selector_name(), "prioritized");
  EXPECT_EQ(index.remover_name(), "fifo");
}

}  // namespace
}  // namespace ivg::replay
