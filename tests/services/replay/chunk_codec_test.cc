#include "services/replay/chunk_codec.h"

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
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

}  // namespace
}  // namespace ivg::replay
