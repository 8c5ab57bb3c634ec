#include "common/image/png_writer.h"

#include <png.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"

namespace ivg::image {

absl::Status WritePng(const std::string& path, int width, int height,
                      const std::vector<uint8_t>& rgb) {
  if (width <= 0 || height <= 0 || rgb.size() != static_cast<size_t>(width) * height * 3) {
    return absl::InvalidArgumentError(absl::StrCat("PNG of ", width, "x", height, " needs ",
                                                   width * height * 3, " bytes, got ", rgb.size()));
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (file == nullptr) return absl::UnavailableError("cannot open " + path + " for writing");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png == nullptr ? nullptr : png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return absl::InternalError("libpng initialisation failed");
  }
  // libpng reports errors by longjmp; nothing with a destructor is created below this point.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return absl::InternalError("libpng failed writing " + path);
  }
  png_init_io(png, file.get());
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) {
    png_write_row(png, const_cast<png_bytep>(rgb.data() + static_cast<size_t>(y) * width * 3));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  // A full disk shows up only when the buffered tail is flushed: check the close.
  if (std::fclose(file.release()) != 0) {
    return absl::UnavailableError("cannot finish writing " + path);
  }
  return absl::OkStatus();
}

}  // namespace ivg::image
