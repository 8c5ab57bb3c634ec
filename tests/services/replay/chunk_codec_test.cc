#include "services/replay/chunk_codec.h"

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/replay/episode_validation.h"
#include "services/replay/sequence_batch.h"
#include "services/replay/storage_format.h"
#include "services/replay/testing/synthetic_episode.h"

namespace ivg::replay {
namespace {

using google::protobuf::util::MessageDifferencer;

TEST(ChunkCodec, RoundTripsAStepRangeByteExact) {
  testing::SyntheticEpisodeOptions o;
  o.num_steps = 20;
  o.noise_amplitude = 3;
  const Episode episode = testing::MakeSyntheticEpisode(o);
  auto encoded = EncodeChunk(episode, 4, 12, 3);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  auto decoded = DecodeChunk(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->steps_size(), 8);
  EXPECT_EQ(decoded->actor_id(), episode.actor_id());
  EXPECT_EQ(decoded->image_height(), episode.image_height());
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(decoded->steps(i), episode.steps(4 + i))) << i;
  }
}

TEST(ChunkCodec, CompressesRenderedLikeFrames) {
  testing::SyntheticEpisodeOptions o;
  o.num_steps = 8;
  const Episode episode = testing::MakeSyntheticEpisode(o);
  auto encoded = EncodeChunk(episode, 0, 8, 3);
  ASSERT_TRUE(encoded.ok());
  // Smooth frames with flat blocks: far below the 8 x 24,576 raw image bytes.
  EXPECT_LT(encoded->size(), 8 * 24576 / 4);
}

TEST(ChunkCodec, RejectsBadRangesAndCorruptData) {
  const Episode episode = testing::MakeSyntheticEpisode({.num_steps = 4});
  EXPECT_TRUE(absl::IsInvalidArgument(EncodeChunk(episode, 2, 2, 3).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(EncodeChunk(episode, 0, 5, 3).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeChunk("not zstd at all").status()));
  auto encoded = EncodeChunk(episode, 0, 4, 3);
  ASSERT_TRUE(encoded.ok());
  EXPECT_FALSE(DecodeChunk(encoded->substr(0, encoded->size() / 2)).ok());
  std::string flipped = *encoded;
  flipped[flipped.size() / 2] ^= 0x5a;
  auto bad = DecodeChunk(flipped);
  // zstd detects most corruption; if it does not, the parse or step check must not crash.
  if (bad.ok()) EXPECT_GE(bad->steps_size(), 0);
  EXPECT_TRUE(absl::IsDataLoss(DecodeChunk(*encoded, /*max_decoded_bytes=*/100).status()));
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

TEST(EpisodeValidation, NamesTheFirstProblem) {
  EpisodeSpec spec;
  spec.sequence_length = 8;
  spec.num_rewards = 1;
  Episode good = testing::MakeSyntheticEpisode({.num_steps = 10});
  EXPECT_TRUE(ValidateEpisode(good, spec).ok());

  Episode e = good;
  e.mutable_steps(3)->mutable_image()->pop_back();
  EXPECT_NE(ValidateEpisode(e, spec).message().find("step 3: image"), std::string::npos);
  e = good;
  e.mutable_steps(2)->set_rewards(0, NAN);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("rewards[0] is not finite"),
            std::string::npos);
  e = good;
  e.mutable_steps(1)->set_proprio(4, INFINITY);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("proprio[4]"), std::string::npos);
  e = good;
  e.mutable_steps(0)->add_action(0);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("action has 6"), std::string::npos);
  e = good;
  e.mutable_steps()->DeleteSubrange(0, 3);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("fewer than one sequence"),
            std::string::npos);
  e = good;
  e.set_image_height(32);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateEpisode(e, spec)));
  e = good;
  e.mutable_steps(5)->add_rewards(1);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateEpisode(e, spec)));
}

}  // namespace
}  // namespace ivg::replay

namespace ivg::replay {
namespace {

TEST(SequenceBatch, DecodingCompressedSequencesEqualsBatchingDecodedEpisodes) {
  std::vector<Episode> windows;
  google::protobuf::RepeatedPtrField<CompressedSequence> compressed;
  for (int b = 0; b < 3; ++b) {
    testing::SyntheticEpisodeOptions o;
    o.episode_id = b;
    o.num_steps = 8;
    o.task_id = b;
    o.num_rewards = 2;
    o.noise_amplitude = 4;
    Episode e = testing::MakeSyntheticEpisode(o);
    e.mutable_steps(3)->set_behaviour_log_prob(0.0f);  // proto3 omits it on the wire
    e.mutable_steps(5)->set_rewards(1, 0.0f);
    CompressedSequence* c = compressed.Add();
    c->set_key(100 + b);
    c->set_task_id(b);
    c->set_probability(0.25 * (b + 1));
    c->set_zstd_episode(*EncodeChunk(e, 0, 8, 3));
    windows.push_back(std::move(e));
  }
  std::vector<const Episode*> pointers;
  for (const Episode& e : windows) pointers.push_back(&e);
  auto expected = BuildSequenceBatch(pointers, {100, 101, 102}, {0.25, 0.5, 0.75});
  ASSERT_TRUE(expected.ok()) << expected.status();
  auto decoded = DecodeCompressedSequences(compressed);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*decoded, *expected))
      << decoded->ShortDebugString().substr(0, 300);
  EXPECT_EQ(decoded->rewards().shape(2), 2);

  compressed.Mutable(1)->set_zstd_episode("garbage");
  auto bad = DecodeCompressedSequences(compressed);
  EXPECT_TRUE(absl::IsDataLoss(bad.status())) << bad.status();
  EXPECT_NE(bad.status().message().find("101"), std::string::npos);
}

TEST(SequenceBatch, AppendConcatenatesAlongTheBatchDimension) {
  Episode e = testing::MakeSyntheticEpisode({.num_steps = 8});
  auto one = BuildSequenceBatch({&e}, {1}, {0.5});
  auto two = BuildSequenceBatch({&e, &e}, {2, 3}, {0.1, 0.2});
  ASSERT_TRUE(one.ok() && two.ok());
  SequenceBatch merged;
  ASSERT_TRUE(AppendSequenceBatch(*one, &merged).ok());
  ASSERT_TRUE(AppendSequenceBatch(*two, &merged).ok());
  auto expected = BuildSequenceBatch({&e, &e, &e}, {1, 2, 3}, {0.5, 0.1, 0.2});
  EXPECT_TRUE(MessageDifferencer::Equals(merged, *expected));
  Episode shorter = testing::MakeSyntheticEpisode({.num_steps = 4});
  auto other = BuildSequenceBatch({&shorter}, {9}, {1.0});
  EXPECT_FALSE(AppendSequenceBatch(*other, &merged).ok());
}

}  // namespace
}  // namespace ivg::replay
