// ivg_env_viewer: runs one episode of the Sawyer environment and writes what both cameras
// see as one PNG strip (front-left above front-right, one column every --every steps), and
// prints the episode's return and per-step summaries.
//
//   ivg_env_viewer --task=LIFT_RED --policy=scripted --steps=200 --every=20 --out=lift.png
//   ivg_env_viewer --config=configs/lift_r.textproto --set env.distractor=DISTRACTOR_YELLOW_BALL
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "common/config/config_loader.h"
#include "common/image/png_writer.h"
#include "env/sawyer_env.h"
#include "env/scripted_policies.h"
#include "glog/logging.h"

ABSL_FLAG(std::string, config, "", "Experiment config file (textproto/JSON); empty = defaults.");
ABSL_FLAG(std::string, task, "", "Task name (e.g. LIFT_RED, STACK_RED); overrides env.task.");
ABSL_FLAG(std::string, policy, "scripted", "scripted | random");
ABSL_FLAG(int, steps, 200, "Control steps to run (at most the episode length).");
ABSL_FLAG(int, every, 20, "Write a frame every this many steps.");
ABSL_FLAG(uint64_t, seed, 1, "Episode seed.");
ABSL_FLAG(std::string, out, "env_viewer.png", "Output PNG.");

namespace ivg::env {
namespace {

int Run(ExperimentConfig config) {
  EnvConfig env_config = config.env();
  const std::string task_name = absl::GetFlag(FLAGS_task);
  if (!task_name.empty()) {
    Task task;
    if (!Task_Parse(task_name, &task)) {
      std::cerr << "--task: unknown task '" << task_name << "'\n";
      return 2;
    }
    env_config.set_task(task);
    env_config.clear_multitask_tasks();
  }
  const std::string policy_name = absl::GetFlag(FLAGS_policy);
  if (policy_name != "scripted" && policy_name != "random") {
    std::cerr << "--policy must be scripted or random, not '" << policy_name << "'\n";
    return 2;
  }
  auto env_or = SawyerEnv::Create(env_config);
  if (!env_or.ok()) {
    std::cerr << "creating the environment: " << env_or.status() << "\n";
    return 1;
  }
  SawyerEnv& env = **env_or;
  const Task task = env.spec().tasks[env.task_index()];
  std::unique_ptr<ScriptedTaskPolicy> scripted =
      ScriptedTaskPolicy::ForTask(task, env_config.reward());
  if (policy_name == "scripted" && scripted == nullptr) {
    std::cerr << "task " << Task_Name(task) << " has no scripted controller; use --policy=random\n";
    return 2;
  }
  std::mt19937 rng(absl::GetFlag(FLAGS_seed));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);

  auto ts = env.Reset(absl::GetFlag(FLAGS_seed));
  if (!ts.ok()) {
    std::cerr << "reset: " << ts.status() << "\n";
    return 1;
  }
  std::printf("task %s, render device %s\n", Task_Name(task).c_str(), env.render_device().c_str());
  const int n = env_config.image_size();
  const int every = std::max(1, absl::GetFlag(FLAGS_every));
  std::vector<std::vector<uint8_t>> frames;
  auto keep = [&](const TimeStep& t) { frames.push_back(t.observation.pixels); };
  keep(*ts);
  double total = 0;
  const int steps = absl::GetFlag(FLAGS_steps);
  for (int i = 0; i < steps && !ts->last; ++i) {
    Action action;
    if (policy_name == "random") {
      for (float& a : action) a = uniform(rng);
    } else {
      action = scripted->Act(env);
    }
    ts = env.Step(action);
    if (!ts.ok()) {
      std::cerr << "step " << i << ": " << ts.status() << "\n";
      return 1;
    }
    total += ts->reward;
    if (ts->step % every == 0) {
      keep(*ts);
      const Vec3 tcp = env.TcpPosition();
      const Vec3 red = env.ObjectPosition(ObjectId::kRed);
      std::printf(
          "step %3d reward %.3f return %7.2f tcp (%.3f %.3f %.3f) red (%.3f %.3f %.3f) "
          "grasp %d fingers %.4f\n",
          ts->step, ts->reward, total, tcp[0], tcp[1], tcp[2], red[0], red[1], red[2],
          env.Grasp() ? 1 : 0, env.FingerOpening());
    }
  }
  std::printf("return %.2f over %d steps, clipped actions %lld\n", total, ts->step,
              static_cast<long long>(env.clipped_action_count()));

  // Strip: one column per frame, front-left on top of front-right.
  const int width = n * static_cast<int>(frames.size());
  const int height = 2 * n;
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  const size_t plane = static_cast<size_t>(n) * n;
  for (size_t f = 0; f < frames.size(); ++f) {
    for (int cam = 0; cam < 2; ++cam) {
      for (int y = 0; y < n; ++y) {
        for (int x = 0; x < n; ++x) {
          uint8_t* dst = rgb.data() + ((static_cast<size_t>(cam * n + y) * width) + f * n + x) * 3;
          for (int c = 0; c < 3; ++c) dst[c] = frames[f][(3 * cam + c) * plane + y * n + x];
        }
      }
    }
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (absl::Status s = image::WritePng(out, width, height, rgb); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  std::printf("wrote %s (%dx%d, %zu frames)\n", out.c_str(), width, height, frames.size());
  return 0;
}

}  // namespace
}  // namespace ivg::env

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  std::vector<std::string> overrides = ivg::ExtractConfigOverrides(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  auto config = ivg::LoadExperimentConfig(absl::GetFlag(FLAGS_config), overrides);
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 2;
  }
  return ivg::env::Run(*config);
}
