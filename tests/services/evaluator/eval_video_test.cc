#include "services/evaluator/eval_video.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace ivg::evaluator {
namespace {

TEST(EvalVideoFrame, UpscalesBothCamerasSideBySideAboveTheRewardBar) {
  EvalVideoLayout layout;
  layout.image_size = 2;
  layout.scale = 2;
  layout.bar_height = 1;
  // Camera 0 red plane = 10 + pixel index, camera 1 red plane = 100 + pixel index.
  std::vector<uint8_t> pixels(6 * 4, 0);
  for (int i = 0; i < 4; ++i) {
    pixels[0 * 4 + i] = static_cast<uint8_t>(10 + i);
    pixels[3 * 4 + i] = static_cast<uint8_t>(100 + i);
  }
  const std::vector<uint8_t> rgb = EvalVideoFrame(pixels, /*reward=*/0.5, /*max_reward=*/1.0,
                                                  layout);
  ASSERT_EQ(layout.width(), 8);
  ASSERT_EQ(layout.height(), 5);
  ASSERT_EQ(rgb.size(), 8u * 5 * 3);
  auto red = [&](int x, int y) { return rgb[(y * 8 + x) * 3]; };
  EXPECT_EQ(red(0, 0), 10);   // camera 0, pixel (0, 0)
  EXPECT_EQ(red(1, 1), 10);   // same source pixel, upscaled
  EXPECT_EQ(red(2, 0), 11);   // camera 0, pixel (1, 0)
  EXPECT_EQ(red(3, 3), 13);   // camera 0, pixel (1, 1)
  EXPECT_EQ(red(4, 0), 100);  // camera 1 starts at x = S * scale
  EXPECT_EQ(red(7, 2), 103);
  // The bar (last row) is filled for half the width: reward 0.5 of 1.
  auto green = [&](int x) { return rgb[(4 * 8 + x) * 3 + 1]; };
  EXPECT_EQ(green(3), 200);
  EXPECT_EQ(green(4), 50);
}

TEST(EvalVideoFrame, TheBarIsClippedToItsWidth) {
  EvalVideoLayout layout;
  layout.image_size = 1;
  layout.scale = 1;
  layout.bar_height = 1;
  const std::vector<uint8_t> pixels(6, 0);
  auto full = EvalVideoFrame(pixels, 5.0, 2.0, layout);
  auto none = EvalVideoFrame(pixels, -1.0, 2.0, layout);
  EXPECT_EQ(full[(2 + 1) * 3 + 1], 200);  // bar row, last pixel: filled
  EXPECT_EQ(none[2 * 3 + 1], 50);         // bar row, first pixel: empty
}

}  // namespace
}  // namespace ivg::evaluator
