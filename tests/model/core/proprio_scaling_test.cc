#include "model/core/proprio_scaling.h"

#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace ivg::model {
namespace {

TEST(ScaleProprio, MapsBoundsToMinusOneAndOneAndClipsOutside) {
  const ProprioBounds bounds{{0.0, -2.0}, {1.0, 2.0}};
  // [B=1, L=4, P=2]: low, high, middle, beyond both ends.
  at::Tensor raw = at::tensor(std::vector<float>{0, -2, 1, 2, 0.5, 0, -3, 5}).view({1, 4, 2});
  at::Tensor scaled = ScaleProprio(raw, bounds);
  at::Tensor expected =
      at::tensor(std::vector<float>{-1, -1, 1, 1, 0, 0, -1, 1}).view({1, 4, 2});
  EXPECT_TRUE(at::allclose(scaled, expected)) << scaled;
}

TEST(ScaleProprio, EmptyBoundsLeaveRawValues) {
  at::Tensor raw = at::randn({2, 3, 5});
  EXPECT_TRUE(at::equal(ScaleProprio(raw, ProprioBounds{}), raw));
}

TEST(ScaleProprio, RefusesADimensionCountOtherThanTheBounds) {
  EXPECT_THROW(ScaleProprio(at::zeros({1, 3}), DefaultProprioBounds(17)), c10::Error);
}

TEST(DefaultProprioBounds, AreTheEnvironmentsFixedBoundsForItsSeventeenFeatures) {
  ProprioBounds bounds = DefaultProprioBounds(17);
  ASSERT_EQ(bounds.low.size(), kProprioDims);
  for (size_t i = 0; i < kProprioDims; ++i) EXPECT_LT(bounds.low[i], bounds.high[i]) << i;
  EXPECT_TRUE(DefaultProprioBounds(5).low.empty());
}

}  // namespace
}  // namespace ivg::model
