// env_bench: control steps per second of one Sawyer environment (5 physics substeps, both
// cameras rendered), against its anchors measured in the same run on the same model:
// raw mj_step (5 per control step) and render-only of the same two cameras.
//
//   LP_NUM_THREADS=1 taskset -c 0 build/bench/env/env_bench --steps=4000
#include <sys/utsname.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/common/bench_util.h"
#include "env/camera_renderer.h"
#include "env/sawyer_env.h"
#include "env/scene_xml.h"
#include "glog/logging.h"

ABSL_FLAG(int, steps, 4000, "Control steps per measurement.");
ABSL_FLAG(std::string, render_device, "AUTO", "AUTO | MESA | NVIDIA");

namespace ivg::env {
namespace {

using bench::Clock;
using bench::CpuModel;
using bench::Seconds;

// Control steps/s of the full environment (random actions, resets at episode ends).
double EnvStepsPerSecond(const EnvConfig& config, bool render, int steps, std::string* device) {
  auto env = SawyerEnv::Create(config, EnvOptions{render});
  CHECK(env.ok()) << env.status();
  if (device != nullptr) *device = (*env)->render_device();
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(-1, 1);
  auto ts = (*env)->Reset(0);
  CHECK(ts.ok()) << ts.status();
  uint64_t seed = 1;
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) {
    if (ts->last) ts = (*env)->Reset(seed++);
    ts = (*env)->Step({u(rng), u(rng), u(rng), u(rng), u(rng)});
    CHECK(ts.ok()) << ts.status();
  }
  return steps / Seconds(start);
}

int Run() {
  InstallMujocoHandlers();
  EnvConfig config;
  RenderDevice device;
  CHECK(RenderDevice_Parse("RENDER_DEVICE_" + absl::GetFlag(FLAGS_render_device), &device))
      << "--render_device must be AUTO, MESA or NVIDIA";
  config.set_render_device(device);
  const int steps = absl::GetFlag(FLAGS_steps);
  const int substeps = config.substeps();

  // Anchor 1: raw physics of the same model, `substeps` mj_step per control step, with the
  // arm holding a pose (controls at the reset targets).
  auto model = LoadModelFromXmlString(BuildSceneXml(config), "bench scene");
  CHECK(model.ok()) << model.status();
  MjDataPtr data(mj_makeData(model->get()));
  {
    // Start from the environment's reset state so contacts and the arm pose are realistic.
    auto env = SawyerEnv::Create(config, EnvOptions{false});
    CHECK(env.ok());
    CHECK((*env)->Reset(0).ok());
    mj_copyData(data.get(), model->get(), (*env)->data());
  }
  auto start = Clock::now();
  for (int i = 0; i < steps * substeps; ++i) mj_step(model->get(), data.get());
  const double physics = steps / Seconds(start);

  // Anchor 2: render-only of both cameras of the same model and state.
  const std::array<int, 2> cameras = {mj_name2id(model->get(), mjOBJ_CAMERA, scene::kCameraLeft),
                                      mj_name2id(model->get(), mjOBJ_CAMERA, scene::kCameraRight)};
  auto renderer = CameraRenderer::Create(model->get(), device, config.render_device_index(),
                                         config.image_size(), cameras);
  CHECK(renderer.ok()) << renderer.status();
  std::vector<uint8_t> pixels(6 * config.image_size() * config.image_size());
  start = Clock::now();
  for (int i = 0; i < steps; ++i) CHECK((*renderer)->Render(data.get(), pixels.data()).ok());
  const double render = steps / Seconds(start);
  const std::string render_device = (*renderer)->device_description();
  renderer->reset();

  const double env_no_render = EnvStepsPerSecond(config, false, steps, nullptr);
  const double env_render = EnvStepsPerSecond(config, true, steps, nullptr);
  // If the environment added nothing to physics and rendering, it would run at this rate.
  const double ideal = 1.0 / (1.0 / physics + 1.0 / render);

  utsname host;
  uname(&host);
  std::printf("machine: %s, %u hardware threads, %s %s; render device: %s\n", CpuModel().c_str(),
              std::thread::hardware_concurrency(), host.sysname, host.release,
              render_device.c_str());
  std::printf("config: %d substeps of %.3f s, two %dx%d cameras, %d control steps each\n", substeps,
              config.physics_timestep(), config.image_size(), config.image_size(), steps);
  std::printf("%-44s %10.0f control steps/s\n", "raw mj_step x substeps (anchor)", physics);
  std::printf("%-44s %10.0f frame pairs/s\n", "render-only, both cameras (anchor)", render);
  std::printf("%-44s %10.0f control steps/s\n", "env Step without rendering", env_no_render);
  std::printf("%-44s %10.0f control steps/s\n", "env Step with both cameras", env_render);
  std::printf("ratio env(no render) / raw physics:          %.3f\n", env_no_render / physics);
  std::printf("ratio env(render) / (physics + render ideal): %.3f (ideal %.0f steps/s)\n",
              env_render / ideal, ideal);
  std::printf("goal >= 800 control steps/s with rendering: %s\n",
              env_render >= 800 ? "met" : "NOT met");
  return 0;
}

}  // namespace
}  // namespace ivg::env

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  absl::ParseCommandLine(argc, argv);
  return ivg::env::Run();
}
