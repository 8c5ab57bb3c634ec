#include "services/replay/storage_format.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"

namespace ivg::replay {
namespace {

ItemRecord TwoChunkRecord() {
  ItemRecord r;
  r.key = 77;
  r.task_id = 3;
  r.offset = 5;
  r.length = 8;
  r.priority = 0.25;
  r.chunk_keys = {10, 11};
  r.chunk_steps = {8, 8};
  return r;
}

TEST(StorageFormat, ItemRecordRoundTripsAndRejectsGarbage) {
  ItemRecord r;
  r.key = 77;
  r.task_id = 3;
  r.offset = 5;
  r.length = 8;
  r.priority = 0.25;
  r.chunk_keys = {10, 11};
  r.chunk_steps = {8, 8};
  auto decoded = DecodeItemRecord(EncodeItemRecord(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->key, 77u);
  EXPECT_EQ(decoded->task_id, 3);
  EXPECT_EQ(decoded->offset, 5);
  EXPECT_EQ(decoded->chunk_keys, r.chunk_keys);
  EXPECT_EQ(decoded->chunk_steps, r.chunk_steps);
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord("garbage").status()));
  const std::string bytes = EncodeItemRecord(r);
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(bytes.substr(0, bytes.size() - 1)).status()));
  r.offset = 9;  // Window beyond its chunks.
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(EncodeItemRecord(r)).status()));
}

TEST(StorageFormat, ParsesOnlyNumericKeysOfTheTable) {
  EXPECT_EQ(ParseNumericSuffix("ivg:replay:t:i:42", ItemKeyPrefix("t")), 42u);
  EXPECT_FALSE(ParseNumericSuffix("ivg:replay:t:i:4x", ItemKeyPrefix("t")).has_value());
  EXPECT_FALSE(ParseNumericSuffix("ivg:replay:u:i:4", ItemKeyPrefix("t")).has_value());
  EXPECT_FALSE(ParseNumericSuffix("ivg:replay:t:i:", ItemKeyPrefix("t")).has_value());
  EXPECT_TRUE(IsValidTableName("sequences-2_b"));
  EXPECT_FALSE(IsValidTableName("a:b"));
  EXPECT_FALSE(IsValidTableName(""));
}

TEST(StorageFormat, ItemRecordRoundTripsEveryField) {
  const ItemRecord r = TwoChunkRecord();
  auto decoded = DecodeItemRecord(EncodeItemRecord(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->key, r.key);
  EXPECT_EQ(decoded->task_id, r.task_id);
  EXPECT_EQ(decoded->offset, r.offset);
  EXPECT_EQ(decoded->length, r.length);
  EXPECT_DOUBLE_EQ(decoded->priority, r.priority);
  EXPECT_EQ(decoded->chunk_keys, r.chunk_keys);
  EXPECT_EQ(decoded->chunk_steps, r.chunk_steps);
}

TEST(StorageFormat, DecodeRejectsRecordsThatCannotBeIndexed) {
  const std::string good = EncodeItemRecord(TwoChunkRecord());
  std::string bad_version = good;
  bad_version[4] = 2;
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(bad_version).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(good + "x").status()));

  ItemRecord r = TwoChunkRecord();
  r.chunk_keys.clear();
  r.chunk_steps.clear();
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(EncodeItemRecord(r)).status())) << "no chunks";
  r = TwoChunkRecord();
  r.priority = -1.0;
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(EncodeItemRecord(r)).status())) << "priority";
  r.priority = NAN;
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(EncodeItemRecord(r)).status())) << "NaN";
  r = TwoChunkRecord();
  r.length = 0;
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(EncodeItemRecord(r)).status())) << "length";
  r = TwoChunkRecord();
  r.chunk_steps = {8, 0};
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(EncodeItemRecord(r)).status())) << "empty chunk";
  r = TwoChunkRecord();
  r.length = 12;  // 5 + 12 > 16 steps.
  EXPECT_TRUE(absl::IsDataLoss(DecodeItemRecord(EncodeItemRecord(r)).status())) << "window";
}

TEST(StorageFormat, KeysFollowTheDocumentedLayout) {
  EXPECT_EQ(ChunkRedisKey("sequences", 12), "ivg:replay:sequences:c:12");
  EXPECT_EQ(ItemRedisKey("sequences", 13), "ivg:replay:sequences:i:13");
  EXPECT_EQ(ChunkKeyPattern("t"), "ivg:replay:t:c:*");
  EXPECT_EQ(ItemKeyPattern("t"), "ivg:replay:t:i:*");
  // A table's own keys parse back to their numbers, and only under the right kind.
  EXPECT_EQ(ParseNumericSuffix(ChunkRedisKey("t", 18446744073709551615u), ChunkKeyPrefix("t")),
            18446744073709551615u);
  EXPECT_FALSE(ParseNumericSuffix(ChunkRedisKey("t", 5), ItemKeyPrefix("t")).has_value());
  EXPECT_FALSE(
      ParseNumericSuffix("ivg:replay:t:c:18446744073709551616", ChunkKeyPrefix("t")).has_value())
      << "overflows uint64";
  EXPECT_FALSE(ParseNumericSuffix("ivg:replay:t:c:-1", ChunkKeyPrefix("t")).has_value());
}

TEST(StorageFormat, TableNamesAreAtMost64KeySafeCharacters) {
  EXPECT_TRUE(IsValidTableName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidTableName(std::string(65, 'a')));
  EXPECT_FALSE(IsValidTableName("a b"));
  EXPECT_FALSE(IsValidTableName("a*"));
}

}  // namespace
}  // namespace ivg::replay
