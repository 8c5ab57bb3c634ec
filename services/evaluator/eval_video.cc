#include "services/evaluator/eval_video.h"

#include <algorithm>

namespace ivg::evaluator {

std::vector<uint8_t> EvalVideoFrame(const std::vector<uint8_t>& pixels, double reward,
                                    double max_reward, const EvalVideoLayout& layout) {
  const int s = layout.image_size, k = layout.scale, w = layout.width();
  const size_t plane = static_cast<size_t>(s) * s;
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * layout.height() * 3, 0);
  const bool complete = pixels.size() >= 6 * plane;
  for (int y = 0; y < s * k && complete; ++y) {
    for (int x = 0; x < w; ++x) {
      const int camera = x / (s * k);
      const int sx = (x % (s * k)) / k, sy = y / k;
      uint8_t* out = rgb.data() + (static_cast<size_t>(y) * w + x) * 3;
      for (int c = 0; c < 3; ++c) out[c] = pixels[(3 * camera + c) * plane + sy * s + sx];
    }
  }
  const double fraction = std::clamp(max_reward > 0 ? reward / max_reward : 0.0, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * w + 0.5);
  for (int y = s * k; y < layout.height(); ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* out = rgb.data() + (static_cast<size_t>(y) * w + x) * 3;
      const bool on = x < filled;
      out[0] = on ? 40 : 50;
      out[1] = on ? 200 : 50;
      out[2] = on ? 60 : 50;
    }
  }
  return rgb;
}

}  // namespace ivg::evaluator
