#include "common/image/apng_writer.h"

#include <zlib.h>

#include <cstdio>
#include <fstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace ivg::image {
namespace {

void PutU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

// length, type, data, CRC-32 of type + data (PNG spec, section 5.3).
void PutChunk(std::string* out, const char type[4], const std::string& data) {
  PutU32(out, static_cast<uint32_t>(data.size()));
  const std::string typed = std::string(type, 4) + data;
  out->append(typed);
  PutU32(out, static_cast<uint32_t>(
                  crc32(0, reinterpret_cast<const Bytef*>(typed.data()), typed.size())));
}

// Scanlines with filter type 0 (none), zlib-compressed: the image data of one frame.
absl::StatusOr<std::string> CompressFrame(const std::vector<uint8_t>& rgb, int width,
                                          int height) {
  const size_t row = static_cast<size_t>(width) * 3;
  std::string raw;
  raw.reserve((row + 1) * height);
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(rgb.data()) + y * row, row);
  }
  uLongf size = compressBound(raw.size());
  std::string compressed(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &size,
                reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 6) != Z_OK) {
    return absl::InternalError("zlib could not compress a frame");
  }
  compressed.resize(size);
  return compressed;
}

}  // namespace

absl::Status WriteAnimatedPng(const std::string& path, int width, int height,
                              const std::vector<std::vector<uint8_t>>& frames, int fps) {
  if (width <= 0 || height <= 0 || frames.empty() || fps <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("an animated PNG needs a positive size, fps and at least one frame; got ",
                     width, "x", height, ", ", frames.size(), " frames at ", fps, " fps"));
  }
  const size_t frame_bytes = static_cast<size_t>(width) * height * 3;
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  PutU32(&ihdr, width);
  PutU32(&ihdr, height);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no filter, no interlace
  PutChunk(&png, "IHDR", ihdr);
  std::string actl;
  PutU32(&actl, static_cast<uint32_t>(frames.size()));
  PutU32(&actl, 0);  // loop forever
  PutChunk(&png, "acTL", actl);
  uint32_t sequence = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].size() != frame_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("frame ", i, " has ", frames[i].size(),
                                                     " bytes; ", width, "x", height,
                                                     " RGB needs ", frame_bytes));
    }
    std::string fctl;
    PutU32(&fctl, sequence++);
    PutU32(&fctl, width);
    PutU32(&fctl, height);
    PutU32(&fctl, 0);  // x offset
    PutU32(&fctl, 0);  // y offset
    PutU16(&fctl, 1);  // delay = 1 / fps seconds
    PutU16(&fctl, static_cast<uint16_t>(fps));
    fctl += std::string("\x00\x00", 2);  // dispose none, blend source
    PutChunk(&png, "fcTL", fctl);
    absl::StatusOr<std::string> data = CompressFrame(frames[i], width, height);
    if (!data.ok()) return data.status();
    if (i == 0) {
      PutChunk(&png, "IDAT", *data);  // the default image that plain PNG readers show
    } else {
      std::string fdat;
      PutU32(&fdat, sequence++);
      PutChunk(&png, "fdAT", fdat + *data);
    }
  }
  PutChunk(&png, "IEND", "");
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(png.data(), static_cast<std::streamsize>(png.size()));
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace ivg::image
