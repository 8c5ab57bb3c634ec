#include "services/learner/batch_conversion.h"

#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/learner/sequence_source.h"

namespace ivg::learner {
namespace {

using ::testing::HasSubstr;

TEST(BatchFromProto, AssemblesWindowsAndScalesProprioToUnitRange) {
  auto episodes = MakeSyntheticEpisodes(2, 10, 64, 3, 2, 1, /*seed=*/5);
  auto proto = AssembleBatch({{&episodes[0], 0}, {&episodes[1], 5}}, /*sequence_length=*/5);
  ASSERT_TRUE(proto.ok()) << proto.status();
  auto batch = BatchFromProto(*proto, model::ProprioBounds{{-2.0, -2.0, -2.0}, {2.0, 2.0, 2.0}});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->images.sizes(), (std::vector<int64_t>{2, 5, 6, 64, 64}));
  EXPECT_EQ(batch->task_ids.scalar_type(), at::kLong);
  // Raw value x maps to x / 2 with bounds [-2, 2].
  EXPECT_FLOAT_EQ(batch->proprio[1][0][2].item<float>(), episodes[1].steps(5).proprio(2) / 2.0f);
  EXPECT_FLOAT_EQ(batch->actions[1][4][1].item<float>(), episodes[1].steps(9).action(1));

  auto outside = AssembleBatch({{&episodes[0], 7}}, 5);
  EXPECT_FALSE(outside.ok());
}

TEST(BatchFromProto, EmptyBoundsKeepRawProprio) {
  auto episodes = MakeSyntheticEpisodes(1, 6, 64, 3, 2, 1, /*seed=*/6);
  auto proto = AssembleBatch({{&episodes[0], 1}}, /*sequence_length=*/4);
  ASSERT_TRUE(proto.ok()) << proto.status();
  auto batch = BatchFromProto(*proto, model::ProprioBounds{});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_FLOAT_EQ(batch->proprio[0][2][1].item<float>(), episodes[0].steps(3).proprio(1));
}

TEST(BatchFromProto, RejectsProprioOfAnotherWidthThanTheBounds) {
  auto episodes = MakeSyntheticEpisodes(1, 6, 64, 3, 2, 1, /*seed=*/7);
  auto proto = AssembleBatch({{&episodes[0], 0}}, /*sequence_length=*/4);
  ASSERT_TRUE(proto.ok()) << proto.status();
  auto batch = BatchFromProto(*proto, model::DefaultProprioBounds(17));
  ASSERT_FALSE(batch.ok());
  EXPECT_THAT(batch.status().message(), HasSubstr("batch.proprio must be [B, L, 17]"));
}

TEST(BatchFromProto, RejectsATensorWhoseBytesDoNotMatchItsShape) {
  auto episodes = MakeSyntheticEpisodes(1, 6, 64, 3, 2, 1, /*seed=*/8);
  auto proto = AssembleBatch({{&episodes[0], 0}}, /*sequence_length=*/4);
  ASSERT_TRUE(proto.ok()) << proto.status();
  proto->mutable_rewards()->mutable_data()->resize(3);
  auto batch = BatchFromProto(*proto, model::ProprioBounds{});
  ASSERT_FALSE(batch.ok());
  EXPECT_THAT(batch.status().message(), HasSubstr("batch.rewards"));
}

}  // namespace
}  // namespace ivg::learner
