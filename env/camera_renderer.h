// Offscreen rendering of the scene's two cameras through EGL.
//
// Device choice (EnvConfig.render_device): MESA uses Mesa's surfaceless platform (llvmpipe,
// CPU); NVIDIA enumerates EGL devices (EGL_EXT_device_enumeration) and takes the
// `device_index`-th one whose extensions name an NVIDIA/CUDA device; AUTO tries NVIDIA and
// falls back to Mesa. Both cameras are drawn in one pass into one (2*size) x size
// framebuffer (two viewports) and read back once; the output is channels-first uint8,
// camera 0 RGB then camera 1 RGB, rows top to bottom.
//
// Thread-compatibility: one renderer is used by one thread at a time; Render() makes its
// EGL context current on the calling thread.
#ifndef IVG_ENV_CAMERA_RENDERER_H_
#define IVG_ENV_CAMERA_RENDERER_H_

#include <mujoco/mujoco.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/config.pb.h"

namespace ivg::env {

class CameraRenderer {
 public:
  // `model` must outlive the renderer. `camera_ids` are two fixed cameras of the model.
  static absl::StatusOr<std::unique_ptr<CameraRenderer>> Create(const mjModel* model,
                                                                RenderDevice device,
                                                                int device_index, int size,
                                                                std::array<int, 2> camera_ids);
  ~CameraRenderer();
  CameraRenderer(const CameraRenderer&) = delete;
  CameraRenderer& operator=(const CameraRenderer&) = delete;

  // Renders both cameras for the state in `data` into `out` (6 * size * size bytes).
  absl::Status Render(mjData* data, uint8_t* out);

  // Which EGL implementation was chosen ("mesa-surfaceless" or "nvidia-device-<i>") and the
  // GL_RENDERER string.
  const std::string& device_description() const { return device_description_; }
  int size() const { return size_; }

 private:
  CameraRenderer(const mjModel* model, int size, std::array<int, 2> camera_ids);
  absl::Status Init(RenderDevice device, int device_index);
  absl::Status MakeCurrent();

  const mjModel* model_;
  const int size_;
  const std::array<int, 2> camera_ids_;
  void* display_ = nullptr;  // EGLDisplay
  void* context_ = nullptr;  // EGLContext
  bool mujoco_context_made_ = false;
  mjvScene scene_;
  mjrContext context_gl_;
  mjvOption option_;
  std::array<mjvCamera, 2> cameras_;
  std::vector<uint8_t> readback_;
  std::string device_description_;
};

}  // namespace ivg::env

#endif  // IVG_ENV_CAMERA_RENDERER_H_
