#include "services/learner/reconstruction_strip.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <system_error>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "common/image/png_writer.h"
#include "common/status/status_macros.h"

namespace ivg::learner {
namespace {

constexpr int kCameras = 2;

absl::Status CheckFrames(const char* name, const at::Tensor& t) {
  if (!t.defined() || t.dim() != 5 || t.size(2) != 3 * kCameras || t.size(3) != t.size(4) ||
      t.size(0) < 1 || t.size(1) < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reconstruction grid: ", name, " must be [B, K, 6, S, S] with B, K >= 1, got ",
        t.defined() ? c10::str(t.sizes()) : std::string("an undefined tensor")));
  }
  return absl::OkStatus();
}

absl::Status WriteAtomically(const std::filesystem::path& path, const RgbImage& image) {
  const std::string temp = path.string() + ".tmp";
  IVG_RETURN_IF_ERROR(image::WritePng(temp, image.width, image.height, image.rgb));
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", temp, " to ", path.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RgbImage> ReconstructionGrid(const at::Tensor& true_images,
                                            const at::Tensor& predicted_images,
                                            int max_sequences) {
  IVG_RETURN_IF_ERROR(CheckFrames("true_images", true_images));
  IVG_RETURN_IF_ERROR(CheckFrames("predicted_images", predicted_images));
  if (true_images.sizes() != predicted_images.sizes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("reconstruction grid: true frames ", c10::str(true_images.sizes()),
                     " and predictions ", c10::str(predicted_images.sizes()), " differ"));
  }
  if (max_sequences < 1) {
    return absl::InvalidArgumentError("reconstruction grid: max_sequences must be >= 1");
  }
  try {
    const int64_t n = std::min<int64_t>(true_images.size(0), max_sequences);
    const int64_t k = true_images.size(1), s = true_images.size(3);
    // [n, 2 (true, predicted), K, 6, S, S] -> pixels.
    at::Tensor both = at::stack({true_images.slice(0, 0, n), predicted_images.slice(0, 0, n)}, 1)
                          .detach()
                          .to(at::kCPU, at::kFloat);
    at::Tensor pixels = at::round(at::clamp(both, 0.0, 1.0) * 255.0).to(at::kByte);
    // Split the channels into (camera, rgb) and lay out rows (sequence, kind, y) and columns
    // (step, camera, x) with the colour innermost.
    at::Tensor grid = pixels.view({n, 2, k, kCameras, 3, s, s})
                          .permute({0, 1, 5, 2, 3, 6, 4})
                          .contiguous();
    RgbImage image;
    image.width = static_cast<int>(k * kCameras * s);
    image.height = static_cast<int>(n * 2 * s);
    const uint8_t* data = grid.data_ptr<uint8_t>();
    image.rgb.assign(data, data + grid.numel());
    return image;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("reconstruction grid failed: ", e.what()));
  }
}

absl::Status WriteReconstructionFiles(const std::string& dir, int64_t step,
                                      const RgbImage& image) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  const std::filesystem::path base(dir);
  IVG_RETURN_IF_ERROR(WriteAtomically(base / absl::StrCat("step_", step, ".png"), image));
  return WriteAtomically(base / "latest.png", image);
}

}  // namespace ivg::learner
