// Open-loop reconstruction strips (the paper's fig. 13): what the model predicts for the K
// steps after burn-in next to what the cameras saw, written as PNGs so that a person can
// judge the model of a running experiment.
#ifndef IVG_SERVICES_LEARNER_RECONSTRUCTION_STRIP_H_
#define IVG_SERVICES_LEARNER_RECONSTRUCTION_STRIP_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ivg::learner {

// 8-bit RGB, rows of `width` pixels, interleaved, top row first.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

// For each of the first `max_sequences` sequences two rows of K cells: the true frames, then
// the predictions. A cell shows both cameras side by side (channels 0-2 left, 3-5 right), so
// the grid is K * 2S wide and 2 * min(B, max_sequences) * S high. Inputs: [B, K, 6, S, S]
// floats in [0, 1] on any device (values outside are clamped); pixels are round(255 x).
absl::StatusOr<RgbImage> ReconstructionGrid(const at::Tensor& true_images,
                                            const at::Tensor& predicted_images,
                                            int max_sequences);

// Writes `image` to <dir>/step_<step>.png and <dir>/latest.png, creating `dir`. Each file is
// written to a temp name and renamed, so a reader never sees a partial PNG.
absl::Status WriteReconstructionFiles(const std::string& dir, int64_t step,
                                      const RgbImage& image);

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_RECONSTRUCTION_STRIP_H_
