// Writes 8-bit RGB images as PNG (libpng), for the viewer and for debugging.
#ifndef IVG_SERVICES_ACTOR_ENV_PNG_WRITER_H_
#define IVG_SERVICES_ACTOR_ENV_PNG_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ivg::env {

// `rgb` holds height rows of width pixels, RGB interleaved, top row first.
absl::Status WritePng(const std::string& path, int width, int height,
                      const std::vector<uint8_t>& rgb);

}  // namespace ivg::env

#endif  // IVG_SERVICES_ACTOR_ENV_PNG_WRITER_H_
