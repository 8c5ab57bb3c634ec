// Writes 8-bit RGB frames as an animated PNG (APNG): a PNG whose extra chunks (acTL, fcTL,
// fdAT) browsers and most image viewers play as an animation, while any PNG reader shows
// the first frame. Debian's libpng has no APNG support, so the chunks are written here with
// zlib. The evaluator's episode videos use it: no video encoder needs to be installed.
#ifndef IVG_COMMON_IMAGE_APNG_WRITER_H_
#define IVG_COMMON_IMAGE_APNG_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ivg::image {

// Each frame holds height rows of width pixels, RGB interleaved, top row first; every frame
// has the same size. Plays at `fps` frames per second, looping. Written to a temporary file
// and renamed, so readers never see a partial file.
absl::Status WriteAnimatedPng(const std::string& path, int width, int height,
                              const std::vector<std::vector<uint8_t>>& frames, int fps);

}  // namespace ivg::image

#endif  // IVG_COMMON_IMAGE_APNG_WRITER_H_
