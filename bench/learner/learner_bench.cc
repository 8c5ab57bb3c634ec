// learner_bench: median time of one IVG learner step (forward + backward of the model loss
// and the policy objective + both Adam steps) at paper sizes (batch 16, L = 8, 6x64x64,
// latent 128) and at a small CPU profile, with an anchor measured in the same run (a fixed
// 1024x1024x1024 float matmul, median over measurements taken between the steps) and the
// ratio step / anchor.
//
//   learner_bench [--config=configs/cpu_small.textproto] [--profile=paper|small|both]
//                 [--steps=10] [--threads=0] [--device=cpu|cuda] [--parts]
//
// --config benchmarks what a run of that config trains (network sizes, losses, batch per
// learner); --parts adds the per-part profile of one step (bench/learner/step_profile.h).
// Builds with -DIVG_LEARNER_CORE_ONLY=ON (LibTorch only; --config needs the full build).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "bench/learner/step_profile.h"
#include "model/core/heap_settings.h"
#include "model/core/learner_core.h"
#ifdef IVG_LEARNER_BENCH_WITH_CONFIG
#include "common/config/config_loader.h"
#include "model/config/model_config.h"
#endif

namespace {

using ivg::model::Batch;
using ivg::model::CoreOptions;
using ivg::model::LearnerCore;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Sync(const at::Device& device) {
  if (device.is_cuda()) {
    // A host copy of a scalar waits for the queued kernels.
    (void)at::zeros({1}, at::TensorOptions().device(device)).cpu();
  }
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The anchor: a fixed matmul workload (2 GFLOP) on the same device, median of `repeats`.
// Measured between learner steps so that both see the same machine load.
double AnchorSeconds(const at::Device& device, int repeats) {
  at::Tensor a = at::randn({1024, 1024}, at::TensorOptions().device(device));
  at::Tensor b = at::randn({1024, 1024}, at::TensorOptions().device(device));
  std::vector<double> times;
  for (int i = 0; i < repeats + 1; ++i) {
    Sync(device);
    auto start = std::chrono::steady_clock::now();
    at::Tensor c = at::matmul(a, b);
    Sync(device);
    if (i >= 1) times.push_back(Seconds(start));
  }
  return Median(times);
}

Batch RandomBatch(const CoreOptions& o, int64_t b) {
  const int64_t l = o.loss.sequence_length();
  Batch batch;
  // From state (image_size 0) the batch carries [B, L, C, 0, 0] images.
  batch.images = at::randint(0, 256, {b, l, o.model.image_channels, o.model.image_size,
                                      o.model.image_size}, at::kByte);
  batch.proprio = at::rand({b, l, o.model.proprio_size}) * 2 - 1;
  batch.actions = at::randn({b, l, o.model.action_size});
  batch.rewards = at::rand({b, l, o.model.num_tasks});
  batch.behaviour_log_probs = at::full({b, l}, -4.6);
  batch.task_ids = at::zeros({b}, at::kLong);
  return batch;
}

struct Profile {
  std::string name;
  CoreOptions options;
  int64_t batch_size;
};

Profile PaperProfile() {
  Profile p{"paper", CoreOptions(), 16};  // Defaults are the paper's sizes.
  return p;
}

// The sizes the cpu-small profile had when it was proposed; configs/cpu_small.textproto runs
// smaller networks (use --config for what runs).
Profile SmallProfile() {
  Profile p{"small", CoreOptions(), 8};
  auto& m = p.options.model;
  m.latent_size = 64;
  m.encoder_channels = 16;
  m.encoder_hidden = 128;
  m.transition_hidden = 128;
  m.decoder_channels = 16;
  m.decoder_hidden = 128;
  m.head_hidden = 128;
  return p;
}

#ifdef IVG_LEARNER_BENCH_WITH_CONFIG
// The options and batch size a learner of `path` trains with.
bool ProfileFromConfig(const std::string& path, Profile* profile) {
  auto config = ivg::LoadExperimentConfig(path, {});
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
    return false;
  }
  auto options = ivg::model::CoreOptionsFromConfig(*config);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", std::string(options.status().message()).c_str());
    return false;
  }
  profile->name = config->has_name() ? config->name() : path;
  profile->options = *options;
  profile->batch_size = config->learner().batch_size_per_learner();
  return true;
}
#endif

int64_t ParameterCount(LearnerCore& core) {
  int64_t n = 0;
  for (const auto& p : core.model()->ModelParameters()) n += p.numel();
  for (const auto& p : core.model()->PolicyParameters()) n += p.numel();
  return n;
}

void PrintParts(LearnerCore& core, const Batch& batch, int repeats) {
  for (const auto& part : ivg::bench::ProfileStepParts(core, batch, repeats)) {
    std::printf("  part %-55s %9.2f ms\n", part.part.c_str(), part.median_ms);
  }
}

int Run(const Profile& profile, int steps, bool cuda, bool parts) {
  CoreOptions o = profile.options;
  o.use_cuda_if_available = cuda;
  auto core = LearnerCore::Create(o);
  if (!core.ok()) {
    std::fprintf(stderr, "%s\n", core.error().c_str());
    return 1;
  }
  const at::Device device = core.value()->device();
  Batch batch = RandomBatch(o, profile.batch_size);
  if (device.is_cuda()) {
    batch.images = batch.images.to(device);
    batch.proprio = batch.proprio.to(device);
    batch.actions = batch.actions.to(device);
    batch.rewards = batch.rewards.to(device);
    batch.behaviour_log_probs = batch.behaviour_log_probs.to(device);
    batch.task_ids = batch.task_ids.to(device);
  }
  std::vector<double> times, anchors;
  for (int i = 0; i < steps + 2; ++i) {
    if (i >= 2) anchors.push_back(AnchorSeconds(device, 3));
    Sync(device);
    auto start = std::chrono::steady_clock::now();
    auto stats = core.value()->Step(batch);
    Sync(device);
    const double t = Seconds(start);
    if (!stats.ok()) {
      std::fprintf(stderr, "step failed: %s\n", stats.error().c_str());
      return 1;
    }
    if (i >= 2) times.push_back(t);
  }
  const double median = Median(times);
  const double anchor = Median(anchors);
  std::printf(
      "profile=%s batch=%lld L=%d latent=%d enc_ch=%d dec_ch=%d hidden=%d device=%s "
      "steps=%d params=%lld median_step_ms=%.2f min_step_ms=%.2f anchor_matmul1024_ms=%.3f "
      "ratio_step_over_anchor=%.1f\n",
      profile.name.c_str(), static_cast<long long>(profile.batch_size),
      o.loss.sequence_length(), o.model.latent_size, o.model.encoder_channels,
      o.model.decoder_channels, o.model.encoder_hidden, device.str().c_str(), steps,
      static_cast<long long>(ParameterCount(*core.value())), median * 1e3, *std::min_element(times.begin(), times.end()) * 1e3, anchor * 1e3,
      median / anchor);
  if (parts) PrintParts(*core.value(), batch, steps);
  return 0;
}

std::string Flag(int argc, char** argv, const char* name, const std::string& fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      return argv[i] + prefix.size();
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  // As the learner does (services/learner/main.cc); IVG_DEFAULT_MALLOC=1 measures without.
  const std::string heap = ivg::model::KeepFreedMemoryInHeap();
  const std::string config = Flag(argc, argv, "config", "");
  const std::string profile = Flag(argc, argv, "profile", config.empty() ? "both" : "");
  bool parts = false;
  for (int i = 1; i < argc; ++i) parts |= std::strcmp(argv[i], "--parts") == 0;
  const int steps = std::atoi(Flag(argc, argv, "steps", "10").c_str());
  const int threads = std::atoi(Flag(argc, argv, "threads", "0").c_str());
  const bool cuda = Flag(argc, argv, "device", "cpu") == "cuda";
  if (cuda && !torch::cuda::is_available()) {
    std::fprintf(stderr, "--device=cuda but LibTorch sees no CUDA device\n");
    return 1;
  }
  at::set_num_threads(threads > 0 ? threads
                                   : static_cast<int>(std::thread::hardware_concurrency()));
  const at::Device device = cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  std::printf("machine: %u hardware threads, torch intra-op threads %d, device %s, %s\n",
              std::thread::hardware_concurrency(), at::get_num_threads(), device.str().c_str(),
              heap.c_str());
  int rc = 0;
  if (!config.empty()) {
#ifdef IVG_LEARNER_BENCH_WITH_CONFIG
    Profile from_config;
    if (!ProfileFromConfig(config, &from_config)) return 1;
    rc |= Run(from_config, steps, cuda, parts);
#else
    std::fprintf(stderr, "--config needs the full build (this one is IVG_LEARNER_CORE_ONLY)\n");
    return 1;
#endif
  }
  if (profile == "paper" || profile == "both") rc |= Run(PaperProfile(), steps, cuda, parts);
  if (profile == "small" || profile == "both") rc |= Run(SmallProfile(), steps, cuda, parts);
  return rc;
}
