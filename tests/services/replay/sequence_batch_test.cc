#include "services/replay/sequence_batch.h"

#include <cstring>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/replay/chunk_codec.h"
#include "services/replay/testing/synthetic_episode.h"

namespace ivg::replay {
namespace {

using google::protobuf::util::MessageDifferencer;

float FloatAt(const Tensor& tensor, int64_t index) {
  float value = 0;
  std::memcpy(&value, tensor.data().data() + index * sizeof(float), sizeof(float));
  return value;
}

TEST(SequenceBatch, BuildLaysOutStepsAsBatchMajorTensors) {
  testing::SyntheticEpisodeOptions o;
  o.num_steps = 3;
  o.image_size = 8;
  o.num_rewards = 2;
  o.noise_amplitude = 5;
  o.task_id = 4;
  Episode a = testing::MakeSyntheticEpisode(o);
  o.seed = 2;
  o.task_id = 1;
  Episode b = testing::MakeSyntheticEpisode(o);
  auto batch = BuildSequenceBatch({&a, &b}, /*keys=*/{7, 9}, /*probabilities=*/{0.5, 0.25});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->batch_size(), 2);
  EXPECT_EQ(batch->sequence_length(), 3);
  EXPECT_EQ(std::vector<int64_t>(batch->images().shape().begin(), batch->images().shape().end()),
            (std::vector<int64_t>{2, 3, 6, 8, 8}));
  EXPECT_EQ(batch->proprio().shape(2), 17);
  EXPECT_EQ(batch->actions().shape(2), 5);
  EXPECT_EQ(batch->rewards().shape(2), 2);
  EXPECT_EQ(batch->behaviour_log_probs().shape_size(), 2);
  // Sequence 1, step 2 starts after 5 steps' images.
  const size_t image_bytes = 6 * 8 * 8;
  EXPECT_EQ(batch->images().data().substr(5 * image_bytes, image_bytes), b.steps(2).image());
  EXPECT_EQ(FloatAt(batch->proprio(), (1 * 3 + 2) * 17 + 4), b.steps(2).proprio(4));
  EXPECT_EQ(FloatAt(batch->rewards(), (0 * 3 + 1) * 2 + 1), a.steps(1).rewards(1));
  EXPECT_EQ(FloatAt(batch->behaviour_log_probs(), 4), b.steps(1).behaviour_log_prob());
  int32_t task = 0;
  std::memcpy(&task, batch->task_ids().data().data() + sizeof(int32_t), sizeof(task));
  EXPECT_EQ(task, 1);
  EXPECT_EQ(batch->keys(1), 9u);
  EXPECT_DOUBLE_EQ(batch->probabilities(0), 0.5);
}

TEST(SequenceBatch, BuildRejectsSequencesOfDifferentShapes) {
  Episode eight = testing::MakeSyntheticEpisode({.num_steps = 8});
  Episode four = testing::MakeSyntheticEpisode({.num_steps = 4});
  EXPECT_TRUE(absl::IsInvalidArgument(BuildSequenceBatch({}, {}, {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(BuildSequenceBatch({&eight}, {1, 2}, {0.5}).status()));
  auto lengths = BuildSequenceBatch({&eight, &four}, {1, 2}, {0.5, 0.5});
  EXPECT_TRUE(absl::IsInvalidArgument(lengths.status()));
  EXPECT_NE(lengths.status().message().find("sequence 1 has 4 steps"), std::string::npos)
      << lengths.status();
  Episode extra_reward = eight;
  extra_reward.mutable_steps(6)->add_rewards(1.0f);
  EXPECT_TRUE(absl::IsInvalidArgument(
      BuildSequenceBatch({&eight, &extra_reward}, {1, 2}, {0.5, 0.5}).status()));
}

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

// Episodes of state observations (no images, 0 x 0) decode from their stored chunks into
// [B, L, 6, 0, 0] images beside the state vectors, as batching the episodes does.
TEST(SequenceBatch, StateEpisodesWithoutImagesDecodeLikeBatchingThem) {
  std::vector<Episode> windows;
  google::protobuf::RepeatedPtrField<CompressedSequence> compressed;
  for (int b = 0; b < 2; ++b) {
    Episode e = testing::MakeSyntheticEpisode(
        {.episode_id = b, .num_steps = 8, .proprio_size = 49, .seed = 10u + b});
    e.set_image_height(0);
    e.set_image_width(0);
    for (Step& s : *e.mutable_steps()) s.clear_image();
    CompressedSequence* c = compressed.Add();
    c->set_key(200 + b);
    c->set_probability(0.5);
    c->set_zstd_episode(*EncodeChunk(e, 0, 8, 3));
    windows.push_back(std::move(e));
  }
  auto expected = BuildSequenceBatch({&windows[0], &windows[1]}, {200, 201}, {0.5, 0.5});
  ASSERT_TRUE(expected.ok()) << expected.status();
  auto decoded = DecodeCompressedSequences(compressed);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*decoded, *expected))
      << decoded->ShortDebugString().substr(0, 300);
  EXPECT_EQ(std::vector<int64_t>(decoded->images().shape().begin(),
                                 decoded->images().shape().end()),
            (std::vector<int64_t>{2, 8, 6, 0, 0}));
  EXPECT_EQ(decoded->proprio().shape(2), 49);
  // One stored chunk with only a height is malformed, not a state episode.
  Episode half = windows[0];
  half.set_image_height(8);
  compressed.Mutable(1)->set_zstd_episode(*EncodeChunk(half, 0, 8, 3));
  EXPECT_TRUE(absl::IsDataLoss(DecodeCompressedSequences(compressed).status()));
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

TEST(SequenceBatch, DecodeRejectsSequencesOfDifferentLengths) {
  Episode e = testing::MakeSyntheticEpisode({.num_steps = 8});
  google::protobuf::RepeatedPtrField<CompressedSequence> compressed;
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeCompressedSequences(compressed).status()));
  CompressedSequence* first = compressed.Add();
  first->set_key(1);
  first->set_zstd_episode(*EncodeChunk(e, 0, 8, 3));
  CompressedSequence* second = compressed.Add();
  second->set_key(2);
  second->set_zstd_episode(*EncodeChunk(e, 0, 4, 3));
  auto decoded = DecodeCompressedSequences(compressed);
  EXPECT_TRUE(absl::IsDataLoss(decoded.status())) << decoded.status();
  EXPECT_NE(decoded.status().message().find("compressed sequence 2 has 4 steps"), std::string::npos)
      << decoded.status();
}

TEST(SequenceBatch, AppendToAnEmptyBatchTakesTheSourceAndAnEmptySourceChangesNothing) {
  Episode e = testing::MakeSyntheticEpisode({.num_steps = 8});
  auto one = BuildSequenceBatch({&e}, {1}, {0.5});
  ASSERT_TRUE(one.ok());
  SequenceBatch merged;
  ASSERT_TRUE(AppendSequenceBatch(*one, &merged).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(merged, *one));
  ASSERT_TRUE(AppendSequenceBatch(SequenceBatch(), &merged).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(merged, *one));
}

}  // namespace
}  // namespace ivg::replay
