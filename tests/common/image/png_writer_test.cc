// WritePng against libpng's own reader: what is written decodes to the same pixels.
#include "common/image/png_writer.h"

#include <png.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/image/temp_png_path.h"

namespace ivg::image {
namespace {

using testing::TempPngPath;

TEST(WritePng, PixelsRoundTripThroughLibpng) {
  const int width = 5, height = 3;
  std::vector<uint8_t> rgb(width * height * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  const std::string path = TempPngPath("ivg_png_roundtrip");
  ASSERT_TRUE(WritePng(path, width, height, rgb).ok());

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_NE(png_image_begin_read_from_file(&image, path.c_str()), 0) << image.message;
  EXPECT_EQ(image.width, static_cast<png_uint_32>(width));
  EXPECT_EQ(image.height, static_cast<png_uint_32>(height));
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> decoded(PNG_IMAGE_SIZE(image));
  ASSERT_NE(png_image_finish_read(&image, nullptr, decoded.data(), 0, nullptr), 0)
      << image.message;
  EXPECT_EQ(decoded, rgb);
  std::filesystem::remove(path);
}

TEST(WritePng, RejectsAPixelBufferOfTheWrongSize) {
  const std::string path = TempPngPath("ivg_png_wrong_size");
  absl::Status s = WritePng(path, 4, 4, std::vector<uint8_t>(4 * 4 * 3 - 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("4x4"), absl::string_view::npos) << s;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(WritePng, NamesAnUnwritablePath) {
  const std::string path = "/nonexistent_ivg_dir/out.png";
  absl::Status s = WritePng(path, 1, 1, std::vector<uint8_t>(3));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path), absl::string_view::npos) << s;
}

}  // namespace
}  // namespace ivg::image
