#include "env/camera_renderer.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "env/mujoco_handles.h"
#include "glog/logging.h"

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

namespace ivg::env {
namespace {

// GL_RENDERER, read through the loader so that this file needs no GL headers.
constexpr unsigned kGlRenderer = 0x1F01;
using GlGetStringFn = const unsigned char* (*)(unsigned);

std::string EglErrorString() { return absl::StrFormat("EGL error 0x%x", eglGetError()); }

// The `index`-th EGL device that is an NVIDIA GPU, or EGL_NO_DISPLAY.
EGLDisplay NvidiaDisplay(int index, std::string* why) {
  auto query_devices =
      reinterpret_cast<PFNEGLQUERYDEVICESEXTPROC>(eglGetProcAddress("eglQueryDevicesEXT"));
  auto query_string = reinterpret_cast<PFNEGLQUERYDEVICESTRINGEXTPROC>(
      eglGetProcAddress("eglQueryDeviceStringEXT"));
  auto get_platform_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
      eglGetProcAddress("eglGetPlatformDisplayEXT"));
  if (query_devices == nullptr || query_string == nullptr || get_platform_display == nullptr) {
    *why = "EGL device enumeration (EGL_EXT_device_enumeration) is not available";
    return EGL_NO_DISPLAY;
  }
  EGLDeviceEXT devices[32];
  EGLint count = 0;
  if (!query_devices(32, devices, &count)) {
    *why = "eglQueryDevicesEXT failed: " + EglErrorString();
    return EGL_NO_DISPLAY;
  }
  int seen = 0;
  for (int i = 0; i < count; ++i) {
    const char* extensions = query_string(devices[i], EGL_EXTENSIONS);
    // NVIDIA's driver exposes EGL_NV_device_cuda on its devices; Mesa's do not.
    if (extensions == nullptr || std::strstr(extensions, "EGL_NV_device_cuda") == nullptr) {
      continue;
    }
    if (seen++ == index) return get_platform_display(EGL_PLATFORM_DEVICE_EXT, devices[i], nullptr);
  }
  *why = absl::StrCat("found ", seen, " NVIDIA EGL devices among ", count, ", need index ", index);
  return EGL_NO_DISPLAY;
}

EGLDisplay MesaDisplay(std::string* why) {
  auto get_platform_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
      eglGetProcAddress("eglGetPlatformDisplayEXT"));
  if (get_platform_display == nullptr) {
    *why = "eglGetPlatformDisplayEXT is not available";
    return EGL_NO_DISPLAY;
  }
  EGLDisplay display =
      get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
  if (display == EGL_NO_DISPLAY) *why = "no Mesa surfaceless display: " + EglErrorString();
  return display;
}

}  // namespace

CameraRenderer::CameraRenderer(const mjModel* model, int size, std::array<int, 2> camera_ids)
    : model_(model), size_(size), camera_ids_(camera_ids) {
  mjv_defaultScene(&scene_);
  mjr_defaultContext(&context_gl_);
  mjv_defaultOption(&option_);
  for (int i = 0; i < 2; ++i) {
    mjv_defaultCamera(&cameras_[i]);
    cameras_[i].type = mjCAMERA_FIXED;
    cameras_[i].fixedcamid = camera_ids_[i];
  }
  readback_.resize(static_cast<size_t>(3) * 2 * size * size);
}

absl::StatusOr<std::unique_ptr<CameraRenderer>> CameraRenderer::Create(
    const mjModel* model, RenderDevice device, int device_index, int size,
    std::array<int, 2> camera_ids) {
  if (model->vis.global.offwidth < 2 * size || model->vis.global.offheight < size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the model's offscreen buffer %dx%d cannot hold two %dx%d cameras",
                        model->vis.global.offwidth, model->vis.global.offheight, size, size));
  }
  for (int id : camera_ids) {
    if (id < 0 || id >= model->ncam) {
      return absl::InvalidArgumentError(absl::StrCat("camera id ", id, " not in the model"));
    }
  }
  std::unique_ptr<CameraRenderer> renderer(new CameraRenderer(model, size, camera_ids));
  absl::Status status = renderer->Init(device, device_index);
  if (!status.ok()) return status;
  return renderer;
}

absl::Status CameraRenderer::Init(RenderDevice device, int device_index) {
  std::string why_nvidia, why_mesa;
  EGLDisplay display = EGL_NO_DISPLAY;
  if (device == RENDER_DEVICE_NVIDIA || device == RENDER_DEVICE_AUTO) {
    display = NvidiaDisplay(device_index, &why_nvidia);
    if (display != EGL_NO_DISPLAY)
      device_description_ = absl::StrCat("nvidia-device-", device_index);
    if (display == EGL_NO_DISPLAY && device == RENDER_DEVICE_NVIDIA) {
      return absl::UnavailableError("render_device NVIDIA requested but " + why_nvidia);
    }
  }
  if (display == EGL_NO_DISPLAY) {
    display = MesaDisplay(&why_mesa);
    if (display == EGL_NO_DISPLAY) {
      return absl::UnavailableError(absl::StrCat(
          "no EGL display: ", why_mesa, why_nvidia.empty() ? "" : "; NVIDIA: ", why_nvidia));
    }
    device_description_ = "mesa-surfaceless";
  }
  EGLint major = 0, minor = 0;
  if (!eglInitialize(display, &major, &minor)) {
    return absl::UnavailableError("eglInitialize failed (" + device_description_ +
                                  "): " + EglErrorString());
  }
  display_ = display;
  const EGLint config_attributes[] = {EGL_RED_SIZE,
                                      8,
                                      EGL_GREEN_SIZE,
                                      8,
                                      EGL_BLUE_SIZE,
                                      8,
                                      EGL_ALPHA_SIZE,
                                      8,
                                      EGL_DEPTH_SIZE,
                                      24,
                                      EGL_STENCIL_SIZE,
                                      8,
                                      EGL_SURFACE_TYPE,
                                      EGL_PBUFFER_BIT,
                                      EGL_RENDERABLE_TYPE,
                                      EGL_OPENGL_BIT,
                                      EGL_NONE};
  EGLConfig config;
  EGLint num_configs = 0;
  if (!eglChooseConfig(display, config_attributes, &config, 1, &num_configs) || num_configs < 1) {
    return absl::UnavailableError("no suitable EGL config (" + device_description_ +
                                  "): " + EglErrorString());
  }
  if (!eglBindAPI(EGL_OPENGL_API)) {
    return absl::UnavailableError("eglBindAPI(OpenGL) failed: " + EglErrorString());
  }
  EGLContext context = eglCreateContext(display, config, EGL_NO_CONTEXT, nullptr);
  if (context == EGL_NO_CONTEXT) {
    return absl::UnavailableError("eglCreateContext failed (" + device_description_ +
                                  "): " + EglErrorString());
  }
  context_ = context;
  if (absl::Status s = MakeCurrent(); !s.ok()) return s;

  try {
    // Room for every geom of this small scene plus decorations.
    mjv_makeScene(model_, &scene_, 2 * model_->ngeom + 50);
    mjr_makeContext(model_, &context_gl_, mjFONTSCALE_50);
    mujoco_context_made_ = true;
    mjr_setBuffer(mjFB_OFFSCREEN, &context_gl_);
  } catch (const MujocoError& e) {
    return absl::InternalError(absl::StrCat("creating the MuJoCo render context: ", e.what()));
  }
  if (context_gl_.currentBuffer != mjFB_OFFSCREEN) {
    return absl::InternalError("MuJoCo's offscreen framebuffer is not available");
  }
  // Observations are 64x64: shadows, reflections, skybox cost far more than they show.
  scene_.flags[mjRND_SHADOW] = 0;
  scene_.flags[mjRND_REFLECTION] = 0;
  scene_.flags[mjRND_SKYBOX] = 0;
  scene_.flags[mjRND_FOG] = 0;
  scene_.flags[mjRND_HAZE] = 0;
  auto gl_get_string = reinterpret_cast<GlGetStringFn>(eglGetProcAddress("glGetString"));
  if (gl_get_string != nullptr) {
    const unsigned char* name = gl_get_string(kGlRenderer);
    if (name != nullptr) {
      absl::StrAppend(&device_description_, " (", reinterpret_cast<const char*>(name), ")");
    }
  }
  LOG(INFO) << "Rendering with EGL " << major << "." << minor << " on " << device_description_;
  return absl::OkStatus();
}

absl::Status CameraRenderer::MakeCurrent() {
  if (eglGetCurrentContext() == static_cast<EGLContext>(context_)) return absl::OkStatus();
  if (!eglMakeCurrent(static_cast<EGLDisplay>(display_), EGL_NO_SURFACE, EGL_NO_SURFACE,
                      static_cast<EGLContext>(context_))) {
    return absl::InternalError("eglMakeCurrent failed: " + EglErrorString());
  }
  return absl::OkStatus();
}

CameraRenderer::~CameraRenderer() {
  if (context_ != nullptr && MakeCurrent().ok()) {
    if (mujoco_context_made_) mjr_freeContext(&context_gl_);
  }
  mjv_freeScene(&scene_);
  if (display_ != nullptr) {
    eglMakeCurrent(static_cast<EGLDisplay>(display_), EGL_NO_SURFACE, EGL_NO_SURFACE,
                   EGL_NO_CONTEXT);
    if (context_ != nullptr) {
      eglDestroyContext(static_cast<EGLDisplay>(display_), static_cast<EGLContext>(context_));
    }
    // Not eglTerminate: the display is shared by every renderer of the process.
  }
}

absl::Status CameraRenderer::Render(mjData* data, uint8_t* out) {
  if (absl::Status s = MakeCurrent(); !s.ok()) return s;
  const int n = size_;
  try {
    // One scene update (geoms do not depend on the camera), then only the camera changes.
    mjv_updateScene(model_, data, &option_, nullptr, &cameras_[0], mjCAT_ALL, &scene_);
    mjr_render(mjrRect{0, 0, n, n}, &scene_, &context_gl_);
    mjv_updateCamera(model_, data, &cameras_[1], &scene_);
    mjr_render(mjrRect{n, 0, n, n}, &scene_, &context_gl_);
    mjr_readPixels(readback_.data(), nullptr, mjrRect{0, 0, 2 * n, n}, &context_gl_);
  } catch (const MujocoError& e) {
    return absl::InternalError(absl::StrCat("rendering: ", e.what()));
  }
  // readback_: rows bottom to top, 2n pixels per row, RGB interleaved. Output: per camera,
  // per channel, rows top to bottom.
  const size_t plane = static_cast<size_t>(n) * n;
  for (int cam = 0; cam < 2; ++cam) {
    uint8_t* r = out + (3 * cam + 0) * plane;
    uint8_t* g = out + (3 * cam + 1) * plane;
    uint8_t* b = out + (3 * cam + 2) * plane;
    for (int y = 0; y < n; ++y) {
      const uint8_t* src =
          readback_.data() + (static_cast<size_t>(n - 1 - y) * 2 * n + cam * n) * 3;
      const size_t row = static_cast<size_t>(y) * n;
      for (int x = 0; x < n; ++x) {
        r[row + x] = src[3 * x];
        g[row + x] = src[3 * x + 1];
        b[row + x] = src[3 * x + 2];
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace ivg::env
