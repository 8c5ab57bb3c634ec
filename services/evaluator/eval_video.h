// One frame of an evaluation video: both cameras side by side, upscaled so a person can see
// the cubes, above a bar that shows the step's reward (full length: the task's largest step reward,
// TaskSpec::max_step_reward in env/task_table.h).
#ifndef IVG_SERVICES_EVALUATOR_EVAL_VIDEO_H_
#define IVG_SERVICES_EVALUATOR_EVAL_VIDEO_H_

#include <cstdint>
#include <vector>

namespace ivg::evaluator {

struct EvalVideoLayout {
  int image_size = 64;  // S: each camera is S x S
  int scale = 3;        // nearest-neighbour upscaling
  int bar_height = 12;  // pixels, below the cameras
  int width() const { return 2 * image_size * scale; }
  int height() const { return image_size * scale + bar_height; }
};

// `pixels`: 6 x S x S uint8 (both cameras' RGB planes, the observation layout). Returns
// layout.height() rows of layout.width() RGB pixels; the bar fills reward / max_reward of
// the width (clipped to [0, 1]).
std::vector<uint8_t> EvalVideoFrame(const std::vector<uint8_t>& pixels, double reward,
                                    double max_reward, const EvalVideoLayout& layout);

}  // namespace ivg::evaluator

#endif  // IVG_SERVICES_EVALUATOR_EVAL_VIDEO_H_
