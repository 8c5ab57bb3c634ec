// WriteAnimatedPng: plain PNG readers (libpng) decode the first frame; the animation chunks
// are well-formed (sequence numbers, frame count, CRCs) and hold every frame.
#include "common/image/apng_writer.h"

#include <png.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/image/temp_png_path.h"

namespace ivg::image {
namespace {

using testing::TempPngPath;

uint32_t U32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

struct Chunk {
  std::string type;
  std::string data;
};

std::vector<Chunk> ReadChunks(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Chunk> chunks;
  EXPECT_EQ(file.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  for (size_t at = 8; at + 12 <= file.size();) {
    const uint32_t length = U32(file, at);
    const std::string typed = file.substr(at + 4, 4 + length);
    EXPECT_EQ(U32(file, at + 8 + length),
              crc32(0, reinterpret_cast<const Bytef*>(typed.data()), typed.size()))
        << typed.substr(0, 4);
    chunks.push_back({typed.substr(0, 4), typed.substr(4)});
    at += 12 + length;
  }
  return chunks;
}

std::vector<std::vector<uint8_t>> Frames(int width, int height, int count) {
  std::vector<std::vector<uint8_t>> frames(count, std::vector<uint8_t>(width * height * 3));
  for (int f = 0; f < count; ++f) {
    for (size_t i = 0; i < frames[f].size(); ++i) frames[f][i] = uint8_t((i * 31 + f * 97) % 256);
  }
  return frames;
}

TEST(WriteAnimatedPng, PlainPngReadersSeeTheFirstFrame) {
  const int width = 6, height = 4;
  auto frames = Frames(width, height, 3);
  const std::string path = TempPngPath("ivg_apng_first");
  ASSERT_TRUE(WriteAnimatedPng(path, width, height, frames, /*fps=*/20).ok());
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_NE(png_image_begin_read_from_file(&image, path.c_str()), 0) << image.message;
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> decoded(PNG_IMAGE_SIZE(image));
  ASSERT_NE(png_image_finish_read(&image, nullptr, decoded.data(), 0, nullptr), 0)
      << image.message;
  EXPECT_EQ(decoded, frames[0]);
  std::filesystem::remove(path);
}

TEST(WriteAnimatedPng, HoldsEveryFrameInSequencedChunks) {
  const int width = 3, height = 2;
  auto frames = Frames(width, height, 4);
  const std::string path = TempPngPath("ivg_apng_chunks");
  ASSERT_TRUE(WriteAnimatedPng(path, width, height, frames, /*fps=*/10).ok());
  std::vector<std::string> types;
  uint32_t expected_sequence = 0;
  int decoded_frames = 0;
  for (const Chunk& c : ReadChunks(path)) {
    types.push_back(c.type);
    if (c.type == "acTL") EXPECT_EQ(U32(c.data, 0), 4u);
    if (c.type == "fcTL" || c.type == "fdAT") EXPECT_EQ(U32(c.data, 0), expected_sequence++);
    if (c.type == "fcTL") EXPECT_EQ(c.data.substr(20, 4), std::string("\x00\x01\x00\x0a", 4));
    if (c.type == "IDAT" || c.type == "fdAT") {
      const std::string z = c.type == "IDAT" ? c.data : c.data.substr(4);
      std::vector<uint8_t> raw((width * 3 + 1) * height);
      uLongf size = raw.size();
      ASSERT_EQ(uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(z.data()), z.size()),
                Z_OK);
      for (int y = 0; y < height; ++y) {
        EXPECT_EQ(raw[y * (width * 3 + 1)], 0) << "filter type";
        for (int x = 0; x < width * 3; ++x) {
          EXPECT_EQ(raw[y * (width * 3 + 1) + 1 + x], frames[decoded_frames][y * width * 3 + x]);
        }
      }
      ++decoded_frames;
    }
  }
  EXPECT_EQ(decoded_frames, 4);
  EXPECT_THAT(types, ::testing::ElementsAre("IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT",
                                            "fcTL", "fdAT", "fcTL", "fdAT", "IEND"));
  std::filesystem::remove(path);
}

TEST(WriteAnimatedPng, RefusesFramesOfTheWrongSizeNamingTheFrame) {
  auto frames = Frames(3, 2, 2);
  frames[1].pop_back();
  absl::Status status = WriteAnimatedPng(TempPngPath("ivg_apng_bad"), 3, 2, frames, 10);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("frame 1"));
}

}  // namespace
}  // namespace ivg::image
