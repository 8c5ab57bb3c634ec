// Writes 8-bit RGB images as PNG (libpng): the environment viewer's strips and the learner's
// reconstruction strips. No MuJoCo or LibTorch, so any process can link it.
#ifndef IVG_COMMON_IMAGE_PNG_WRITER_H_
#define IVG_COMMON_IMAGE_PNG_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ivg::image {

// `rgb` holds height rows of width pixels, RGB interleaved, top row first. Overwrites `path`
// in place; callers that need readers never to see a partial file write a temp file and
// rename it.
absl::Status WritePng(const std::string& path, int width, int height,
                      const std::vector<uint8_t>& rgb);

}  // namespace ivg::image

#endif  // IVG_COMMON_IMAGE_PNG_WRITER_H_
