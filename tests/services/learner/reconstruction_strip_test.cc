// Reconstruction strip layout and files: where each camera, step and sequence lands.
#include "services/learner/reconstruction_strip.h"

#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ivg::learner {
namespace {

using ::testing::HasSubstr;

uint8_t Pixel(const RgbImage& image, int row, int col, int colour) {
  return image.rgb[(static_cast<size_t>(row) * image.width + col) * 3 + colour];
}

TEST(ReconstructionGrid, PlacesTrueAbovePredictedWithCamerasSideBySide) {
  const int64_t b = 3, k = 4, s = 8;
  at::Tensor truth = at::zeros({b, k, 6, s, s});
  // Sequence 1, step 2, right camera (channels 3-5), green, pixel (y 5, x 7).
  truth[1][2][4][5][7] = 1.0;
  // Sequence 0, step 0, left camera, red, pixel (y 1, x 2).
  truth[0][0][0][1][2] = 0.5;
  at::Tensor predicted = at::full({b, k, 6, s, s}, 0.25);
  predicted[1][3][2][0][0] = 7.0;  // Clamped to 1.
  auto grid = ReconstructionGrid(truth, predicted, /*max_sequences=*/2);
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_EQ(grid->width, k * 2 * s);
  EXPECT_EQ(grid->height, 2 * 2 * s);  // Two of three sequences, two rows each.
  ASSERT_EQ(grid->rgb.size(), static_cast<size_t>(grid->width * grid->height * 3));

  // Row block of sequence 1's true frames: 2 * s; column of step 2, right camera: 2*2s + s.
  EXPECT_EQ(Pixel(*grid, 2 * s + 5, 2 * 2 * s + s + 7, 1), 255);
  EXPECT_EQ(Pixel(*grid, 2 * s + 5, 2 * 2 * s + s + 7, 0), 0);
  EXPECT_EQ(Pixel(*grid, 1, 2, 0), 128);  // round(0.5 * 255) = 128 (127.5 to even).
  EXPECT_EQ(Pixel(*grid, 1, 2, 1), 0);
  // Prediction rows: 0.25 -> 64 everywhere except the clamped pixel of sequence 1, step 3,
  // left camera, blue, in the fourth row block.
  EXPECT_EQ(Pixel(*grid, s, 0, 0), 64);
  EXPECT_EQ(Pixel(*grid, 3 * s, 3 * 2 * s, 2), 255);
  EXPECT_EQ(Pixel(*grid, 3 * s, 3 * 2 * s, 1), 64);
  int bright = 0;
  for (uint8_t v : grid->rgb) bright += v == 255;
  EXPECT_EQ(bright, 2);
}

TEST(ReconstructionGrid, NamesMismatchedOrMalformedInputs) {
  at::Tensor a = at::zeros({2, 3, 6, 8, 8});
  EXPECT_THAT(std::string(ReconstructionGrid(a, at::zeros({2, 2, 6, 8, 8}), 4).status().message()),
              HasSubstr("differ"));
  EXPECT_THAT(std::string(ReconstructionGrid(at::zeros({2, 3, 3, 8, 8}), a, 4).status().message()),
              HasSubstr("true_images"));
  EXPECT_FALSE(ReconstructionGrid(a, a, 0).ok());
}

TEST(WriteReconstructionFiles, WritesStepAndLatestWithoutTempFiles) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ivg_recon_files_" + std::to_string(::getpid())) / "reconstructions";
  std::filesystem::remove_all(dir.parent_path());
  RgbImage image{4, 2, std::vector<uint8_t>(4 * 2 * 3, 9)};
  ASSERT_TRUE(WriteReconstructionFiles(dir.string(), 12, image).ok());
  ASSERT_TRUE(WriteReconstructionFiles(dir.string(), 14, image).ok());
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("step_12.png", "step_14.png", "latest.png"));
  EXPECT_FALSE(WriteReconstructionFiles("/proc/ivg_no_such_dir", 1, image).ok());
  std::filesystem::remove_all(dir.parent_path());
}

}  // namespace
}  // namespace ivg::learner
