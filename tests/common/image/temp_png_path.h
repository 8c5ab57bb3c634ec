// A per-process path in the temp directory for a PNG a test writes (name_<pid>.png), shared
// by the PNG and APNG writer tests of one binary.
#ifndef IVG_TESTS_COMMON_IMAGE_TEMP_PNG_PATH_H_
#define IVG_TESTS_COMMON_IMAGE_TEMP_PNG_PATH_H_

#include <unistd.h>

#include <filesystem>
#include <string>

namespace ivg::image::testing {

inline std::string TempPngPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "_" + std::to_string(::getpid()) + ".png"))
      .string();
}

}  // namespace ivg::image::testing

#endif  // IVG_TESTS_COMMON_IMAGE_TEMP_PNG_PATH_H_
