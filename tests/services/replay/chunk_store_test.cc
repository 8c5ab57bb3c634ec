// ChunkStore against a real redis-server on an ephemeral loopback port.
#include "services/replay/chunk_store.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/services/replay/replay_test_util.h"

namespace ivg::replay {
namespace {

ItemRecord Record(uint64_t key, std::vector<uint64_t> chunks, int32_t offset = 0) {
  ItemRecord r;
  r.key = key;
  r.task_id = static_cast<int32_t>(key % 3);
  r.offset = offset;
  r.length = 4;
  r.priority = 0.5 + key;
  r.chunk_keys = std::move(chunks);
  r.chunk_steps.assign(r.chunk_keys.size(), 4);
  return r;
}

void ExpectSameRecord(const ItemRecord& actual, const ItemRecord& expected) {
  EXPECT_EQ(actual.key, expected.key);
  EXPECT_EQ(actual.task_id, expected.task_id);
  EXPECT_EQ(actual.offset, expected.offset);
  EXPECT_EQ(actual.length, expected.length);
  EXPECT_DOUBLE_EQ(actual.priority, expected.priority);
  EXPECT_EQ(actual.chunk_keys, expected.chunk_keys);
  EXPECT_EQ(actual.chunk_steps, expected.chunk_steps);
}

class ChunkStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::StartRedis(dir_.path() + "/redis");
    ASSERT_NE(redis_, nullptr);
    auto pool = RedisConnectionPool::Create(redis_->connection_options(), /*size=*/2);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    auto admin = RedisConnection::Create(redis_->connection_options());
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *std::move(admin);
    store_ = MakeStore("t");
  }

  std::unique_ptr<ChunkStore> MakeStore(const std::string& table) {
    auto store = ChunkStore::Create(table, pool_.get());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Chunks 1 ("aaaa") and 2 ("bbbbbb"); item 3 in chunk 1, item 4 straddling both.
  EpisodeWrite FirstEpisode() {
    EpisodeWrite write;
    write.chunks = {{1, "aaaa"}, {2, "bbbbbb"}};
    write.items = {Record(3, {1}), Record(4, {1, 2}, /*offset=*/2)};
    return write;
  }

  std::string Get(const std::string& key) {
    auto reply = admin_->Command({"GET", key});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->str : "";
  }

  bool Exists(const std::string& key) {
    auto reply = admin_->Command({"EXISTS", key});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() && reply->integer == 1;
  }

  testing::TempDir dir_;
  std::unique_ptr<RedisProcess> redis_;
  std::unique_ptr<RedisConnectionPool> pool_;
  std::unique_ptr<RedisConnection> admin_;
  std::unique_ptr<ChunkStore> store_;
};

TEST(ChunkStore, CreateRejectsTableNamesThatCannotBeEmbeddedInKeys) {
  for (const std::string& name : {std::string(""), std::string("a:b"), std::string(65, 'x')}) {
    auto store = ChunkStore::Create(name, /*pool=*/nullptr);
    EXPECT_TRUE(absl::IsInvalidArgument(store.status())) << "'" << name << "'";
  }
}

TEST_F(ChunkStoreTest, WriteStoresChunksAndItemsUnderTheTableKeyLayout) {
  const EpisodeWrite write = FirstEpisode();
  ASSERT_TRUE(store_->Write(write).ok());
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 4);
  EXPECT_EQ(Get("ivg:replay:t:c:1"), "aaaa");
  EXPECT_EQ(Get("ivg:replay:t:c:2"), "bbbbbb");
  auto record = DecodeItemRecord(Get("ivg:replay:t:i:4"));
  ASSERT_TRUE(record.ok()) << record.status();
  ExpectSameRecord(*record, write.items[1]);
}

TEST_F(ChunkStoreTest, WriteDeletesTheEvictedKeysInTheSameTransaction) {
  ASSERT_TRUE(store_->Write(FirstEpisode()).ok());
  EpisodeWrite second;
  second.chunks = {{5, "cccc"}};
  second.items = {Record(6, {5})};
  second.deletes.items = {3};
  second.deletes.chunks = {};
  ASSERT_TRUE(store_->Write(second).ok());
  EXPECT_FALSE(Exists("ivg:replay:t:i:3"));
  EXPECT_TRUE(Exists("ivg:replay:t:c:1")) << "chunk 1 was not named";
  EXPECT_TRUE(Exists("ivg:replay:t:i:6"));
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 5);
}

TEST_F(ChunkStoreTest, RejectedWriteAppliesNothing) {
  ASSERT_TRUE(store_->Write(FirstEpisode()).ok());
  // Out of memory: Redis refuses to queue the SETs, so EXEC aborts the whole transaction,
  // including its DEL (which Redis would otherwise allow).
  ASSERT_TRUE(admin_->Command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}).ok());
  ASSERT_TRUE(admin_->Command({"CONFIG", "SET", "maxmemory", "1"}).ok());
  EpisodeWrite second;
  second.chunks = {{5, "cccc"}};
  second.items = {Record(6, {5})};
  second.deletes.items = {3, 4};
  second.deletes.chunks = {1, 2};
  const absl::Status status = store_->Write(second);
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  ASSERT_TRUE(admin_->Command({"CONFIG", "SET", "maxmemory", "0"}).ok());
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 4);
  EXPECT_FALSE(Exists("ivg:replay:t:c:5"));
  EXPECT_TRUE(Exists("ivg:replay:t:i:3"));
  // The same write goes through once Redis accepts it.
  EXPECT_TRUE(store_->Write(second).ok());
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 2);
}

TEST_F(ChunkStoreTest, ReadChunksReturnsStoredBytesAndNulloptForMissingChunks) {
  ASSERT_TRUE(store_->Write(FirstEpisode()).ok());
  auto values = store_->ReadChunks({2, 99, 1});
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), 3u);
  EXPECT_EQ((*values)[0], "bbbbbb");
  EXPECT_FALSE((*values)[1].has_value());
  EXPECT_EQ((*values)[2], "aaaa");
  auto none = store_->ReadChunks({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(ChunkStoreTest, DeleteRemovesExactlyTheNamedKeys) {
  ASSERT_TRUE(store_->Write(FirstEpisode()).ok());
  StoredKeys keys;
  keys.items = {3};
  keys.chunks = {2};
  ASSERT_TRUE(store_->Delete(keys).ok());
  EXPECT_FALSE(Exists("ivg:replay:t:i:3"));
  EXPECT_FALSE(Exists("ivg:replay:t:c:2"));
  EXPECT_TRUE(Exists("ivg:replay:t:i:4"));
  EXPECT_TRUE(Exists("ivg:replay:t:c:1"));
  EXPECT_TRUE(store_->Delete(StoredKeys()).ok());
}

TEST_F(ChunkStoreTest, DeleteInBatchesRemovesMoreKeysThanOneBatch) {
  EpisodeWrite write;
  StoredKeys all;
  for (uint64_t c = 1; c <= 2500; ++c) {
    write.chunks.emplace_back(c, "x");
    all.chunks.push_back(c);
  }
  write.items = {Record(2501, {1})};
  all.items = {2501};
  ASSERT_TRUE(store_->Write(write).ok());
  ASSERT_TRUE(admin_->Command({"SET", "someone-elses-key", "x"}).ok());
  ASSERT_EQ(testing::RedisKeyCount(admin_.get()), 2502);
  ASSERT_TRUE(store_->DeleteInBatches(all).ok());
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 1);
  EXPECT_TRUE(Exists("someone-elses-key"));
}

TEST_F(ChunkStoreTest, ScanRoundTripsWrittenItemsInKeyOrder) {
  const EpisodeWrite first = FirstEpisode();
  ASSERT_TRUE(store_->Write(first).ok());
  EpisodeWrite second;
  second.chunks = {{5, "ccc"}, {8, "unreferenced"}};
  second.items = {Record(7, {5}), Record(6, {5})};
  ASSERT_TRUE(store_->Write(second).ok());

  auto scan = store_->Scan();
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->corrupt_keys, 0);
  EXPECT_EQ(scan->max_key, 8u);
  ASSERT_EQ(scan->items.size(), 4u);
  ExpectSameRecord(scan->items[0], first.items[0]);
  ExpectSameRecord(scan->items[1], first.items[1]);
  ExpectSameRecord(scan->items[2], second.items[1]);
  ExpectSameRecord(scan->items[3], second.items[0]);
  EXPECT_EQ(scan->chunk_bytes.size(), 4u);
  EXPECT_EQ(scan->chunk_bytes.at(1), 4);
  EXPECT_EQ(scan->chunk_bytes.at(2), 6);
  EXPECT_EQ(scan->chunk_bytes.at(5), 3);
  EXPECT_EQ(scan->chunk_bytes.at(8), 12) << "unreferenced chunks are reported, not hidden";
}

TEST_F(ChunkStoreTest, ScanReadsEveryKeyOfATableLargerThanItsBatches) {
  // More keys than one SCAN page and than one MGET/STRLEN batch.
  EpisodeWrite write;
  for (uint64_t c = 1; c <= 300; ++c) write.chunks.emplace_back(c, std::string(c, 'z'));
  for (uint64_t i = 301; i <= 1000; ++i) write.items.push_back(Record(i, {1 + i % 300}));
  ASSERT_TRUE(store_->Write(write).ok());
  auto scan = store_->Scan();
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->corrupt_keys, 0);
  EXPECT_EQ(scan->max_key, 1000u);
  EXPECT_EQ(scan->chunk_bytes.size(), 300u);
  EXPECT_EQ(scan->chunk_bytes.at(123), 123);
  ASSERT_EQ(scan->items.size(), 700u);
  EXPECT_TRUE(
      std::is_sorted(scan->items.begin(), scan->items.end(),
                     [](const ItemRecord& a, const ItemRecord& b) { return a.key < b.key; }));
  EXPECT_EQ(scan->items.front().key, 301u);
  EXPECT_EQ(scan->items.back().chunk_keys[0], 1 + 1000 % 300u);
}

TEST_F(ChunkStoreTest, ScanSkipsCorruptAndForeignKeysAndLeavesThemInRedis) {
  ASSERT_TRUE(store_->Write(FirstEpisode()).ok());
  ASSERT_TRUE(admin_->Command({"SET", "ivg:replay:t:i:10", "garbage"}).ok());
  ASSERT_TRUE(admin_->Command({"SET", "ivg:replay:t:i:11", EncodeItemRecord(Record(12, {1}))})
                  .ok());  // Names another key.
  ASSERT_TRUE(admin_->Command({"SET", "ivg:replay:t:i:13", EncodeItemRecord(Record(13, {40}))})
                  .ok());  // Its chunk is not in Redis.
  ASSERT_TRUE(admin_->Command({"HSET", "ivg:replay:t:i:14", "f", "v"}).ok());
  ASSERT_TRUE(admin_->Command({"HSET", "ivg:replay:t:c:15", "f", "v"}).ok());
  ASSERT_TRUE(admin_->Command({"SET", "ivg:replay:t:i:notanumber", "x"}).ok());
  ASSERT_TRUE(admin_->Command({"SET", "ivg:replay:other:i:1", "x"}).ok());
  const int64_t keys_before = testing::RedisKeyCount(admin_.get());

  auto scan = store_->Scan();
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->corrupt_keys, 7);
  ASSERT_EQ(scan->items.size(), 2u);
  EXPECT_EQ(scan->items[0].key, 3u);
  EXPECT_EQ(scan->items[1].key, 4u);
  EXPECT_EQ(scan->chunk_bytes.size(), 2u) << "a hash under a chunk key is not a chunk";
  EXPECT_EQ(scan->max_key, 15u) << "new keys must not reuse skipped ones";
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), keys_before);

  // To another table, all of them are foreign.
  auto other = MakeStore("u");
  auto foreign = other->Scan();
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  EXPECT_TRUE(foreign->items.empty());
  EXPECT_TRUE(foreign->chunk_bytes.empty());
  EXPECT_EQ(foreign->corrupt_keys, keys_before);
}

TEST_F(ChunkStoreTest, EveryCallIsUnavailableWhileRedisIsDown) {
  ASSERT_TRUE(store_->Write(FirstEpisode()).ok());
  redis_->Stop();
  EXPECT_TRUE(absl::IsUnavailable(store_->Write(FirstEpisode())));
  EXPECT_TRUE(absl::IsUnavailable(store_->ReadChunks({1}).status()));
  StoredKeys keys;
  keys.items = {3};
  EXPECT_TRUE(absl::IsUnavailable(store_->Delete(keys)));
  EXPECT_TRUE(absl::IsUnavailable(store_->DeleteInBatches(keys)));
  EXPECT_TRUE(absl::IsUnavailable(store_->Scan().status()));
}

}  // namespace
}  // namespace ivg::replay
