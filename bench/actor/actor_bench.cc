// actor_bench: the actor's figures, each printed with an anchor measured in the same run
// and the ratio (bench/README.md, "Actor, policy service and parameter fetch").
//
//   steps    env steps/s of one actor loop (SawyerEnv with both 64x64 cameras + policy) with
//            the paper's network sizes and with configs/cpu_small.textproto, against the
//            environment alone: the actor's path (PolicyRunner::ActOnNewestFrame: per-frame
//            features cached, the LSTM re-run over the last H, as Actor::RunEpisode does)
//            and, for comparison, PolicyRunner::Act re-encoding all H frames every step.
//   profile  where inference time goes: the encoder's submodules (conv tower, proprio and
//            fusion MLPs, LSTM) and the policy, on 1 and on H frames.
//   cem      a CEM run's actor loop: the planner's latency per act against the policy's.
//   grpc     PolicyService.Act latency p50/p99 on loopback against an empty round trip
//            (health Check, and Fetch with have_version = current), and the actor's
//            parameter fetch (encoder + policy, bytes reported) against the up-to-date Fetch.
//
//   LP_NUM_THREADS=1 taskset -c 0 build/bench/actor/actor_bench --sections=steps,profile
//   taskset -c 0,1 build/bench/actor/actor_bench --sections=grpc
//
// For bench/actor/actor_scaling.sh: --mode=publish publishes one freshly initialised
// parameter set from a LearnerCore to a running ivg_param_server; --mode=param_server serves
// ParameterService in this process with that set already published; --mode=actor runs the
// real Actor class (Actor::Create + Run, as ivg_actor does) and writes its env step counter
// to --status_file. The last two stand in for ivg_param_server and ivg_actor, whose
// MetricsServer cannot start in a process that also loads LibTorch (bench/README.md).
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/rnn.h>
#include <torch/utils.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/common/bench_util.h"
#include "common/config/config_loader.h"
#include "common/grpc/client_context.h"
#include "common/grpc/server_host.h"
#include "common/shutdown/shutdown_signal.h"
#include "env/mujoco_handles.h"
#include "env/sawyer_env.h"
#include "glog/logging.h"
#include "model/config/model_config.h"
#include "model/core/learner_core.h"
#include "model/core/networks.h"
#include "model/core/proprio_scaling.h"
#include "model/policy/policy_runner.h"
#include "proto/health.grpc.pb.h"
#include "proto/params.grpc.pb.h"
#include "proto/policy.grpc.pb.h"
#include "services/actor/actor.h"
#include "services/learner/parameter_publisher.h"
#include "services/param_server/parameter_service.h"
#include "services/param_server/parameter_store.h"
#include "services/param_server/policy_service.h"

ABSL_FLAG(std::string, mode, "bench", "bench | publish");
ABSL_FLAG(std::string, sections, "steps,profile,grpc",
          "Comma-separated: steps, profile, grpc, cem.");
ABSL_FLAG(std::string, small_config, "configs/cpu_small.textproto",
          "The small CPU profile (relative to the working directory).");
ABSL_FLAG(int, steps, 400, "Control steps per loop measurement.");
ABSL_FLAG(int, rounds, 3, "Rounds of each loop measurement (the median is reported).");
ABSL_FLAG(int, profile_iters, 200, "Calls per submodule timing.");
ABSL_FLAG(int, rpc_calls, 300, "Calls of each RPC kind (interleaved).");
ABSL_FLAG(int, fetch_calls, 60, "Full parameter fetches.");
ABSL_FLAG(std::string, config, "", "publish mode: experiment config (empty = paper defaults).");
ABSL_FLAG(std::string, param_server, "", "publish mode: host:port of ivg_param_server.");
ABSL_FLAG(int64_t, version, 1, "publish mode: version to publish.");
ABSL_FLAG(std::string, port_file, "", "param_server mode: write the gRPC port here.");
ABSL_FLAG(int, actor_id, 0, "actor mode: the actor's id.");
ABSL_FLAG(std::string, status_file, "",
          "actor mode: rewritten every 0.2 s with 'env_steps steps_per_second_of_last_episode' "
          "(the latter excludes the parameter fetch and the episode insert).");

namespace ivg::bench {
namespace {


std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

// One network-size profile: config, a freshly initialised learner core (the weights the
// actors would receive as version 1) and a PolicyRunner loaded with its actor parameters.
struct Profile {
  std::string name;
  ExperimentConfig config;
  std::unique_ptr<model::LearnerCore> core;
  PublishRequest params;
  std::unique_ptr<model::PolicyRunner> runner;
  size_t parameter_count = 0;
};

Profile MakeProfile(const std::string& name, const std::string& path,
                    const std::vector<std::string>& overrides = {}) {
  Profile p;
  p.name = name;
  auto config = LoadExperimentConfig(path, overrides);
  CHECK(config.ok()) << config.status();
  p.config = *config;
  auto options = model::CoreOptionsFromConfig(p.config);
  CHECK(options.ok()) << options.status();
  auto core = model::LearnerCore::Create(*options);
  CHECK(core.ok()) << core.error();
  p.core = core.consume();
  auto request = learner::MakePublishRequest(*p.core, /*version=*/1, /*include_model=*/false);
  CHECK(request.ok()) << request.status();
  p.params = *request;
  auto runner = model::PolicyRunner::Create(p.config, /*threads=*/1);
  CHECK(runner.ok()) << runner.status();
  p.runner = std::move(*runner);
  {
    const absl::Status loaded = p.runner->Load(p.params.actor_params(), 1);
    CHECK(loaded.ok()) << loaded;
  }
  for (const auto& [unused, t] : p.core->ActorParameters()) p.parameter_count += t.numel();
  return p;
}

// ---------------------------------------------------------------------------------------
// Per-frame feature caching prototype, built from the learner core's Encoder submodules
// (the same weights the runner holds). Per step: conv tower + proprio/fusion MLPs on the
// newest frame only; the LSTM reruns from a zero state over the cached H fused features,
// which is exactly the runner's computation (the per-frame parts do not depend on the
// other frames).
class CachedEncoder {
 public:
  CachedEncoder(model::IvgModel& model, const model::ModelOptions& options)
      : options_(options), encoder_(model->encoder), policy_(model->policy) {
    auto children = model->encoder->named_children();
    proprio_mlp_ = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(children["proprio_mlp"]);
    fusion_mlp_ = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(children["fusion_mlp"]);
    lstm_ = std::dynamic_pointer_cast<torch::nn::LSTMImpl>(children["lstm"]);
    CHECK(proprio_mlp_ && fusion_mlp_ && lstm_)
        << "the encoder's submodules changed names or types";
  }

  // Inputs as the runner builds them: uint8 images [T, C, S, S] and scaled proprio [T, P].
  at::Tensor Pixels(const at::Tensor& images) { return images.to(at::kFloat) / 255.0; }
  // The encoder's own conv tower and pooling (whatever the config pools by).
  at::Tensor Conv(const at::Tensor& pixels) { return encoder_->ImageFeatures(pixels); }
  at::Tensor Fuse(const at::Tensor& conv_features, const at::Tensor& proprio) {
    at::Tensor p = proprio_mlp_->forward(proprio);
    return fusion_mlp_->forward(torch::cat({conv_features, p}, 1));
  }
  // fused [T, hidden] -> h of the newest frame [1, latent].
  at::Tensor Lstm(const at::Tensor& fused) {
    const at::Tensor out = std::get<0>(lstm_->forward(fused.unsqueeze(0)));
    return out.select(1, fused.size(0) - 1);
  }
  std::pair<at::Tensor, at::Tensor> Policy(const at::Tensor& h) {
    const at::Tensor task = at::one_hot(at::zeros({1}, at::kLong), options_.num_tasks)
                                .to(h.scalar_type());
    return policy_->forward(h, task);
  }

 private:
  model::ModelOptions options_;
  model::Encoder encoder_;
  std::shared_ptr<torch::nn::SequentialImpl> proprio_mlp_, fusion_mlp_;
  std::shared_ptr<torch::nn::LSTMImpl> lstm_;
  model::Policy policy_;
};

at::Tensor ImageTensor(const env::Observation& o, const model::ModelOptions& m) {
  return torch::from_blob(const_cast<uint8_t*>(o.pixels.data()),
                          {1, m.image_channels, m.image_size, m.image_size}, at::kByte)
      .clone();
}

at::Tensor ProprioTensor(const env::Observation& o) {
  at::Tensor t = at::empty({1, static_cast<int64_t>(o.proprio.size())}, at::kFloat);
  std::copy(o.proprio.begin(), o.proprio.end(), t.data_ptr<float>());
  // The runner's default scaling: the environment's fixed bounds.
  return model::ScaleProprio(t, model::DefaultProprioBounds(static_cast<int>(o.proprio.size())));
}

// ---------------------------------------------------------------------------------------
// Section "steps": the actor's loop.

struct LoopResult {
  double steps_per_second = 0;
  double env_seconds_per_step = 0;
  double act_seconds_per_step = 0;
};

enum class LoopKind { kEnvOnly, kRunner, kCached };

// Random actions for kEnvOnly; otherwise the policy's sampled action, exactly as the actor
// feeds it back. Resets at episode ends; the window restarts with each episode.
LoopResult RunLoop(env::SawyerEnv& environment, LoopKind kind, Profile* profile,
                   CachedEncoder* cached, int steps, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  const int history = profile != nullptr ? profile->runner->history_length() : 1;
  auto ts = environment.Reset(seed);
  CHECK(ts.ok()) << ts.status();
  std::deque<env::Observation> window;
  bool episode_start = true;
  double env_seconds = 0, act_seconds = 0;
  torch::NoGradGuard no_grad;
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) {
    if (ts->last) {
      ts = environment.Reset(rng());
      CHECK(ts.ok()) << ts.status();
      window.clear();
      episode_start = true;
    }
    std::vector<float> action(5);
    const auto act_start = Clock::now();
    if (kind == LoopKind::kEnvOnly) {
      for (float& a : action) a = u(rng);
    } else if (kind == LoopKind::kRunner) {
      window.push_back(ts->observation);
      if (static_cast<int>(window.size()) > history) window.pop_front();
      std::vector<model::FrameView> frames;
      for (const env::Observation& o : window) frames.push_back({o.pixels, o.proprio});
      auto out = profile->runner->Act(frames, 0, /*deterministic=*/false, rng());
      CHECK(out.ok()) << out.status();
      action = out->action;
    } else {
      // The actor's own path: PolicyRunner caches each frame's features and re-runs only
      // the LSTM over the window (what Actor::RunEpisode calls).
      if (episode_start) profile->runner->StartEpisode();
      auto out = profile->runner->ActOnNewestFrame({ts->observation.pixels, ts->observation.proprio},
                                                   0, /*deterministic=*/false, rng());
      CHECK(out.ok()) << out.status();
      action = out->action;
    }
    episode_start = false;
    act_seconds += Seconds(act_start);
    const auto env_start = Clock::now();
    ts = environment.Step(action);
    CHECK(ts.ok()) << ts.status();
    env_seconds += Seconds(env_start);
  }
  const double total = Seconds(start);
  return {steps / total, env_seconds / steps, act_seconds / steps};
}

// The prototype must act exactly like the runner: compare deterministic means on a real
// 3-frame window.
void CheckCachedMatchesRunner(env::SawyerEnv& environment, Profile& profile,
                              CachedEncoder& cached) {
  auto ts = environment.Reset(11);
  CHECK(ts.ok());
  std::vector<env::Observation> obs = {ts->observation};
  for (int i = 0; i < 2; ++i) {
    ts = environment.Step({0.3f, -0.2f, 0.1f, 0.f, 0.5f});
    CHECK(ts.ok());
    obs.push_back(ts->observation);
  }
  std::vector<model::FrameView> frames;
  for (const auto& o : obs) frames.push_back({o.pixels, o.proprio});
  auto out = profile.runner->Act(frames, 0, /*deterministic=*/true, 0);
  CHECK(out.ok()) << out.status();
  torch::NoGradGuard no_grad;
  const model::ModelOptions& m = profile.core->options().model;
  std::vector<at::Tensor> fused;
  for (const auto& o : obs) {
    fused.push_back(cached.Fuse(cached.Conv(cached.Pixels(ImageTensor(o, m))), ProprioTensor(o)));
  }
  at::Tensor mean = cached.Policy(cached.Lstm(torch::cat(fused, 0))).first.reshape({-1});
  double max_diff = 0;
  for (int i = 0; i < mean.numel(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(mean[i].item<float>()) -
                                           out->mean[i]));
  }
  std::printf("  cached-feature prototype vs PolicyRunner (deterministic mean, 3 frames): "
              "max |diff| = %.2e\n",
              max_diff);
  CHECK_LT(max_diff, 1e-4) << "the prototype does not compute the runner's policy";
}

void StepsSection(env::SawyerEnv& environment, std::vector<Profile>& profiles) {
  const int steps = absl::GetFlag(FLAGS_steps);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  std::printf("\n== steps: one actor loop, %d steps x %d rounds (median), torch threads %d ==\n",
              steps, rounds, torch::get_num_threads());
  // Rounds interleave every variant so that load changes on the shared machine hit all.
  std::vector<double> env_only;
  std::map<std::string, std::vector<LoopResult>> runner, cached;
  std::vector<std::unique_ptr<CachedEncoder>> encoders;
  for (Profile& p : profiles) {
    encoders.push_back(std::make_unique<CachedEncoder>(p.core->model(), p.core->options().model));
    CheckCachedMatchesRunner(environment, p, *encoders.back());
  }
  RunLoop(environment, LoopKind::kEnvOnly, nullptr, nullptr, 50, 1);  // Warm-up.
  for (int r = 0; r < rounds; ++r) {
    env_only.push_back(
        RunLoop(environment, LoopKind::kEnvOnly, nullptr, nullptr, steps, 100 + r)
            .steps_per_second);
    for (size_t i = 0; i < profiles.size(); ++i) {
      runner[profiles[i].name].push_back(RunLoop(environment, LoopKind::kRunner, &profiles[i],
                                                 nullptr, steps, 200 + r));
      cached[profiles[i].name].push_back(RunLoop(environment, LoopKind::kCached, &profiles[i],
                                                 encoders[i].get(), steps, 300 + r));
    }
  }
  const double anchor = Median(env_only);
  std::printf("  anchor: env alone (physics + both cameras, random actions): %.0f steps/s\n",
              anchor);
  auto report = [&](const char* what, const std::string& name, std::vector<LoopResult>& v) {
    std::sort(v.begin(), v.end(), [](const LoopResult& a, const LoopResult& b) {
      return a.steps_per_second < b.steps_per_second;
    });
    const LoopResult& m = v[v.size() / 2];
    std::printf("  %-9s %-30s %7.1f steps/s  = %.3f x env alone  (env %.2f ms + act %.2f ms "
                "per step; rounds %.1f..%.1f)\n",
                name.c_str(), what, m.steps_per_second, m.steps_per_second / anchor,
                1e3 * m.env_seconds_per_step, 1e3 * m.act_seconds_per_step,
                v.front().steps_per_second, v.back().steps_per_second);
  };
  for (Profile& p : profiles) {
    report("env + PolicyRunner::Act (H=3)", p.name, runner[p.name]);
    report("env + actor path (cached per-frame features)", p.name, cached[p.name]);
  }
}

// ---------------------------------------------------------------------------------------
// Section "cem": a CEM run's actor loop (learner.policy_algorithm POLICY_CEM: every step
// plans cem_trajectories sequences x cem_horizon steps x cem_iterations, batched, on the
// actor's one thread) against the parametric policy's loop at the same sizes and the
// environment alone, rounds interleaved.
void CemSection(env::SawyerEnv& environment, std::vector<Profile>& profiles) {
  const int steps = absl::GetFlag(FLAGS_steps);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  std::vector<Profile> planners;
  planners.push_back(MakeProfile("paper", "", {"learner.policy_algorithm=POLICY_CEM"}));
  planners.push_back(MakeProfile("cpu_small", absl::GetFlag(FLAGS_small_config),
                                 {"learner.policy_algorithm=POLICY_CEM"}));
  const LearnerConfig& l = planners[0].config.learner();
  std::printf("\n== cem: actor loop with the planner (%d sequences x horizon %d x %d iterations, "
              "%d elites), %d steps x %d rounds (median) ==\n",
              l.cem_trajectories(), l.cem_horizon(), l.cem_iterations(), l.cem_elites(), steps,
              rounds);
  std::vector<double> env_only;
  std::map<std::string, std::vector<double>> policy_act, cem_act, cem_rate;
  for (int r = 0; r < rounds; ++r) {
    env_only.push_back(
        RunLoop(environment, LoopKind::kEnvOnly, nullptr, nullptr, steps, 100 + r)
            .steps_per_second);
    for (size_t i = 0; i < profiles.size(); ++i) {
      policy_act[profiles[i].name].push_back(
          RunLoop(environment, LoopKind::kCached, &profiles[i], nullptr, steps, 200 + r)
              .act_seconds_per_step);
      const LoopResult planned =
          RunLoop(environment, LoopKind::kCached, &planners[i], nullptr, steps, 300 + r);
      cem_act[planners[i].name].push_back(planned.act_seconds_per_step);
      cem_rate[planners[i].name].push_back(planned.steps_per_second);
    }
  }
  const double anchor = Median(env_only);
  std::printf("  anchor: env alone %.0f steps/s\n", anchor);
  for (const Profile& p : planners) {
    const double cem = Median(cem_act[p.name]), parametric = Median(policy_act[p.name]);
    std::printf("  %-9s act %.2f ms with CEM vs %.2f ms with the policy (%.1f x); actor loop "
                "%.1f steps/s = %.3f x env alone\n",
                p.name.c_str(), 1e3 * cem, 1e3 * parametric, cem / parametric,
                Median(cem_rate[p.name]), Median(cem_rate[p.name]) / anchor);
  }
}

// Section "profile": the encoder's parts on 1 and H frames.

template <typename F>
double MedianMs(int iters, F&& f) {
  for (int i = 0; i < std::max(3, iters / 10); ++i) f();
  std::vector<double> t;
  t.reserve(iters);
  for (int i = 0; i < iters; ++i) {
    const auto s = Clock::now();
    f();
    t.push_back(1e3 * Seconds(s));
  }
  return Median(t);
}

void ProfileSection(env::SawyerEnv& environment, std::vector<Profile>& profiles) {
  const int iters = absl::GetFlag(FLAGS_profile_iters);
  std::printf("\n== profile: inference parts, median of %d calls (ms) ==\n", iters);
  auto ts = environment.Reset(5);
  CHECK(ts.ok());
  std::vector<env::Observation> obs = {ts->observation};
  for (int i = 0; i < 2; ++i) {
    ts = environment.Step({0.1f, 0.1f, 0.f, 0.f, 0.f});
    obs.push_back(ts->observation);
  }
  const double env_ms = MedianMs(iters, [&] {
    ts = environment.Step({0.1f, -0.1f, 0.f, 0.f, 0.f});
    if (ts->last) ts = environment.Reset(6);
  });
  std::printf("  anchor: env Step with both cameras %.3f ms\n", env_ms);
  torch::NoGradGuard no_grad;
  for (Profile& p : profiles) {
    const model::ModelOptions& m = p.core->options().model;
    CachedEncoder enc(p.core->model(), m);
    std::vector<model::FrameView> frames;
    for (const auto& o : obs) frames.push_back({o.pixels, o.proprio});
    at::Tensor img1 = ImageTensor(obs[2], m);
    at::Tensor img3 = torch::cat({ImageTensor(obs[0], m), ImageTensor(obs[1], m), img1}, 0);
    at::Tensor pro1 = ProprioTensor(obs[2]);
    at::Tensor pro3 = torch::cat({ProprioTensor(obs[0]), ProprioTensor(obs[1]), pro1}, 0);
    at::Tensor pix1 = enc.Pixels(img1), pix3 = enc.Pixels(img3);
    at::Tensor conv1 = enc.Conv(pix1), conv3 = enc.Conv(pix3);
    at::Tensor fused3 = enc.Fuse(conv3, pro3);
    at::Tensor h = enc.Lstm(fused3);

    const double act3 = MedianMs(iters, [&] { (void)p.runner->Act(frames, 0, false, 1); });
    const double act1 = MedianMs(iters, [&] {
      (void)p.runner->Act(absl::MakeConstSpan(frames).subspan(2), 0, false, 1);
    });
    const double to_float1 = MedianMs(iters, [&] { (void)enc.Pixels(img1); });
    const double to_float3 = MedianMs(iters, [&] { (void)enc.Pixels(img3); });
    const double c1 = MedianMs(iters, [&] { (void)enc.Conv(pix1); });
    const double c3 = MedianMs(iters, [&] { (void)enc.Conv(pix3); });
    const double f1 = MedianMs(iters, [&] { (void)enc.Fuse(conv1, pro1); });
    const double f3 = MedianMs(iters, [&] { (void)enc.Fuse(conv3, pro3); });
    const double l3 = MedianMs(iters, [&] { (void)enc.Lstm(fused3); });
    const double pol = MedianMs(iters, [&] { (void)enc.Policy(h); });
    const double parts3 = to_float3 + c3 + f3 + l3 + pol;
    const double cached_act = to_float1 + c1 + f1 + l3 + pol + std::max(0.0, act3 - parts3);
    std::printf("  [%s] %zu actor parameters (encoder + policy)\n", p.name.c_str(),
                p.parameter_count);
    std::printf("    PolicyRunner::Act, 3 frames %.3f ms | 1 frame %.3f ms\n", act3, act1);
    std::printf("    uint8 -> float        1 frame %.3f | 3 frames %.3f\n", to_float1, to_float3);
    std::printf("    conv tower (conv0 + 3 residual blocks + pool)  1 frame %.3f | 3 frames %.3f "
                "(%.0f%% of Act)\n",
                c1, c3, 100 * c3 / act3);
    std::printf("    proprio + fusion MLPs 1 frame %.3f | 3 frames %.3f\n", f1, f3);
    std::printf("    LSTM over 3 frames %.3f | policy MLP %.3f | rest of Act (input checks, "
                "copies, sampling, lock) %.3f\n",
                l3, pol, act3 - parts3);
    std::printf("    projected Act with cached per-frame features: %.3f ms -> env + act "
                "%.0f steps/s (env alone %.0f steps/s in this section)\n",
                cached_act, 1e3 / (env_ms + cached_act), 1e3 / env_ms);
  }
}

// ---------------------------------------------------------------------------------------
// Section "grpc": Act and Fetch through an in-process parameter server on loopback.

struct Latencies {
  std::vector<double> ms;
  void Add(Clock::time_point start) { ms.push_back(1e3 * Seconds(start)); }
  double p50() const { return Percentile(ms, 0.5); }
  double p99() const { return Percentile(ms, 0.99); }
};

void GrpcSection(env::SawyerEnv& environment, std::vector<Profile>& profiles) {
  const int calls = absl::GetFlag(FLAGS_rpc_calls);
  const int fetch_calls = absl::GetFlag(FLAGS_fetch_calls);
  std::printf("\n== grpc: in-process ParameterService + PolicyService on 127.0.0.1, one "
              "client, %d calls per kind, interleaved ==\n",
              calls);
  auto ts = environment.Reset(7);
  CHECK(ts.ok());
  std::vector<env::Observation> obs = {ts->observation};
  for (int i = 0; i < 2; ++i) {
    ts = environment.Step({0.2f, 0.f, -0.1f, 0.f, 0.f});
    obs.push_back(ts->observation);
  }
  for (Profile& p : profiles) {
    metrics::MetricRegistry registry;
    auto store = param_server::ParameterStore::Create("");
    CHECK(store.ok()) << store.status();
    auto policy = param_server::PolicyServiceImpl::Create(p.config, &registry);
    CHECK(policy.ok()) << policy.status();
    auto* policy_service = policy->get();
    param_server::ParameterServiceImpl parameters(
        store->get(), "token", &registry,
        [policy_service](std::shared_ptr<const param_server::StoredParameters> s) {
          policy_service->Load(*s);
        });
    GrpcServerOptions options;
    options.max_message_bytes = p.config.cluster().max_message_bytes();
    auto host = GrpcServerHost::Create(options, {&parameters, policy_service});
    CHECK(host.ok()) << host.status();
    auto channel = MakeChannel((*host)->address(), p.config.cluster().max_message_bytes());
    auto params_stub = ParameterService::NewStub(channel);
    auto policy_stub = PolicyService::NewStub(channel);
    auto health_stub = grpc::health::v1::Health::NewStub(channel);
    const absl::Duration deadline = absl::Seconds(10);
    {
      PublishRequest publish = p.params;
      publish.set_token("token");
      PublishResponse response;
      auto context = MakeClientContext(deadline);
      const grpc::Status status = params_stub->Publish(context.get(), publish, &response);
      CHECK(status.ok()) << status.error_message();
    }
    ActRequest act;
    act.set_image_height(p.config.env().image_size());
    act.set_image_width(p.config.env().image_size());
    for (const auto& o : obs) {
      Observation* frame = act.add_history();
      frame->set_image(o.pixels.data(), o.pixels.size());
      frame->mutable_proprio()->Add(o.proprio.begin(), o.proprio.end());
    }
    FetchRequest up_to_date;
    up_to_date.set_group(PARAMETER_GROUP_ACTOR);
    up_to_date.set_have_version(1);
    FetchRequest full = up_to_date;
    full.set_have_version(-1);
    grpc::health::v1::HealthCheckRequest check;

    Latencies health, fetch_current, act_rpc, act_local, fetch_full, fetch_load;
    size_t full_bytes = 0, current_bytes = 0, act_bytes = act.ByteSizeLong();
    std::vector<model::FrameView> frames;
    for (const auto& o : obs) frames.push_back({o.pixels, o.proprio});
    auto actor_runner = model::PolicyRunner::Create(p.config, 1);
    CHECK(actor_runner.ok());
    for (int i = 0; i < calls + 20; ++i) {
      const bool record = i >= 20;  // The first calls warm up channel and allocator.
      {
        grpc::health::v1::HealthCheckResponse response;
        auto context = MakeClientContext(deadline);
        const auto s = Clock::now();
        CHECK(health_stub->Check(context.get(), check, &response).ok());
        if (record) health.Add(s);
      }
      {
        FetchResponse response;
        auto context = MakeClientContext(deadline);
        const auto s = Clock::now();
        CHECK(params_stub->Fetch(context.get(), up_to_date, &response).ok());
        if (record) fetch_current.Add(s);
        CHECK(response.up_to_date());
        current_bytes = response.ByteSizeLong();
      }
      {
        ActResponse response;
        act.set_seed(i);
        auto context = MakeClientContext(deadline);
        const auto s = Clock::now();
        const grpc::Status status = policy_stub->Act(context.get(), act, &response);
        CHECK(status.ok()) << status.error_message();
        if (record) act_rpc.Add(s);
      }
      {
        const auto s = Clock::now();
        CHECK(p.runner->Act(frames, 0, false, i).ok());
        if (record) act_local.Add(s);
      }
      if (i < fetch_calls + 3) {
        // The actor's refresh at an episode start: fetch the whole actor set, then decode
        // and load it into its PolicyRunner.
        FetchResponse response;
        auto context = MakeClientContext(deadline);
        const auto s = Clock::now();
        CHECK(params_stub->Fetch(context.get(), full, &response).ok());
        if (i >= 3) fetch_full.Add(s);
        full_bytes = response.ByteSizeLong();
        CHECK(!response.up_to_date());
        const auto l = Clock::now();
        const absl::Status loaded =
            (*actor_runner)->Load(response.actor_params(), response.version());
        CHECK(loaded.ok()) << loaded;
        if (i >= 3) fetch_load.Add(l);
      }
    }
    const double anchor = fetch_current.p50();
    std::printf("  [%s] Act request %zu B (3 frames); up-to-date Fetch response %zu B\n",
                p.name.c_str(), act_bytes, current_bytes);
    std::printf("    anchor: health Check            p50 %7.3f ms  p99 %7.3f ms\n",
                health.p50(), health.p99());
    std::printf("    anchor: Fetch up to date        p50 %7.3f ms  p99 %7.3f ms\n",
                fetch_current.p50(), fetch_current.p99());
    std::printf("    Act through gRPC (H=3)          p50 %7.3f ms  p99 %7.3f ms  = %.1f x "
                "up-to-date Fetch (p50), %.1f x health Check\n",
                act_rpc.p50(), act_rpc.p99(), act_rpc.p50() / anchor,
                act_rpc.p50() / health.p50());
    std::printf("    PolicyRunner::Act in process    p50 %7.3f ms  p99 %7.3f ms  (gRPC adds "
                "%.3f ms at p50)\n",
                act_local.p50(), act_local.p99(), act_rpc.p50() - act_local.p50());
    std::printf("    Fetch actor set (%zu B = %.2f MB, %d calls) p50 %7.3f ms  p99 %7.3f ms  "
                "= %.1f x up-to-date Fetch (p50); %.0f MB/s\n",
                full_bytes, full_bytes / 1e6, fetch_full.ms.empty() ? 0 : (int)fetch_full.ms.size(),
                fetch_full.p50(), fetch_full.p99(), fetch_full.p50() / anchor,
                full_bytes / 1e6 / (fetch_full.p50() / 1e3));
    std::printf("    then decode + PolicyRunner::Load p50 %7.3f ms  p99 %7.3f ms\n",
                fetch_load.p50(), fetch_load.p99());
    (*host)->Stop(absl::Seconds(2));
  }
}

std::vector<std::string>& Overrides() {
  static std::vector<std::string> overrides;
  return overrides;
}

// ParameterService (no policy service) on 127.0.0.1:0 with version 1 of a fresh LearnerCore
// published through it; serves until SIGINT/SIGTERM.
int ServeParameters() {
  auto config = LoadExperimentConfig(absl::GetFlag(FLAGS_config), Overrides());
  CHECK(config.ok()) << config.status();
  InstallShutdownSignalHandlers();
  metrics::MetricRegistry registry;
  auto store = param_server::ParameterStore::Create("");
  CHECK(store.ok()) << store.status();
  param_server::ParameterServiceImpl service(store->get(), config->cluster().publish_token(),
                                             &registry);
  GrpcServerOptions options;
  options.max_message_bytes = config->cluster().max_message_bytes();
  auto host = GrpcServerHost::Create(options, {&service});
  CHECK(host.ok()) << host.status();
  auto options_core = model::CoreOptionsFromConfig(*config);
  CHECK(options_core.ok()) << options_core.status();
  auto core = model::LearnerCore::Create(*options_core);
  CHECK(core.ok()) << core.error();
  auto request = learner::MakePublishRequest(*core.value(), 1, false);
  CHECK(request.ok()) << request.status();
  request->set_token(config->cluster().publish_token());
  auto stub = ParameterService::NewStub(
      MakeChannel((*host)->address(), config->cluster().max_message_bytes()));
  PublishResponse response;
  auto context = MakeClientContext(absl::Seconds(30));
  const grpc::Status status = stub->Publish(context.get(), *request, &response);
  CHECK(status.ok()) << status.error_message();
  {
    std::ofstream out(absl::GetFlag(FLAGS_port_file) + ".tmp");
    out << (*host)->port() << "\n";
  }
  std::rename((absl::GetFlag(FLAGS_port_file) + ".tmp").c_str(),
              absl::GetFlag(FLAGS_port_file).c_str());
  std::printf("parameter service on %s, version 1 published (%zu B)\n",
              (*host)->address().c_str(), request->ByteSizeLong());
  std::fflush(stdout);
  // Finite slices: WaitForShutdown() with its default infinite timeout polls with a zero
  // timeout (int64 overflow of the slice), spinning a core (bench/README.md).
  while (!WaitForShutdown(absl::Seconds(1))) {
  }
  (*host)->Stop(absl::Seconds(2));
  return 0;
}

// The real Actor class, as ivg_actor runs it, minus the /metrics endpoint: the env step
// counter goes to --status_file instead.
int RunActor() {
  auto config = LoadExperimentConfig(absl::GetFlag(FLAGS_config), Overrides());
  CHECK(config.ok()) << config.status();
  InstallShutdownSignalHandlers();
  env::InstallMujocoHandlers();
  metrics::MetricRegistry registry;
  const int id = absl::GetFlag(FLAGS_actor_id);
  auto actor = actor::Actor::Create(*config, id, &registry);
  CHECK(actor.ok()) << actor.status();
  metrics::Counter* steps =
      registry.AddCounter("ivg_actor_env_steps_total", "Environment control steps.", {"actor"})
          .WithLabels({absl::StrCat(id)});
  metrics::Gauge* episode_rate =
      registry
          .AddGauge("ivg_actor_env_steps_per_second",
                    "Control steps per second over the last episode.", {"actor"})
          .WithLabels({absl::StrCat(id)});
  std::atomic<bool> done{false};
  const std::string path = absl::GetFlag(FLAGS_status_file);
  std::thread reporter([&] {
    while (!done.load()) {
      {
        std::ofstream out(path + ".tmp");
        out << static_cast<int64_t>(steps->Value()) << " " << episode_rate->Value() << "\n";
      }
      std::rename((path + ".tmp").c_str(), path.c_str());
      absl::SleepFor(absl::Milliseconds(200));
    }
  });
  const absl::Status status = (*actor)->Run([] { return ShutdownRequested(); });
  done = true;
  reporter.join();
  CHECK(status.ok()) << status;
  return 0;
}

int Publish() {
  auto config = LoadExperimentConfig(absl::GetFlag(FLAGS_config), Overrides());
  CHECK(config.ok()) << config.status();
  auto options = model::CoreOptionsFromConfig(*config);
  CHECK(options.ok()) << options.status();
  auto core = model::LearnerCore::Create(*options);
  CHECK(core.ok()) << core.error();
  auto request =
      learner::MakePublishRequest(*core.value(), absl::GetFlag(FLAGS_version), false);
  CHECK(request.ok()) << request.status();
  request->set_token(config->cluster().publish_token());
  auto stub = ParameterService::NewStub(
      MakeChannel(absl::GetFlag(FLAGS_param_server), config->cluster().max_message_bytes()));
  PublishResponse response;
  auto context = MakeClientContext(absl::Seconds(30));
  const grpc::Status status = stub->Publish(context.get(), *request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "publish failed: %s\n", status.error_message().c_str());
    return 1;
  }
  std::printf("published version %ld (%zu B)\n", static_cast<long>(absl::GetFlag(FLAGS_version)),
              request->ByteSizeLong());
  return 0;
}

int Run() {
  env::InstallMujocoHandlers();
  torch::set_num_threads(1);
  struct utsname u;
  uname(&u);
  std::printf("actor_bench: %s, %ld hardware threads visible, Linux %s\n", CpuModel().c_str(),
              sysconf(_SC_NPROCESSORS_ONLN), u.release);
  std::printf("load average at start: %s\n", LoadAverage().c_str());
  const std::vector<std::string> sections = absl::StrSplit(absl::GetFlag(FLAGS_sections), ',');
  auto has = [&](const char* s) {
    return std::find(sections.begin(), sections.end(), s) != sections.end();
  };
  std::vector<Profile> profiles;
  profiles.push_back(MakeProfile("paper", ""));
  profiles.push_back(MakeProfile("cpu_small", absl::GetFlag(FLAGS_small_config)));
  auto environment = env::SawyerEnv::Create(profiles[0].config.env());
  CHECK(environment.ok()) << environment.status();
  std::printf("render device: %s; H = %d; image %dx%d, 2 cameras\n",
              (*environment)->render_device().c_str(), profiles[0].runner->history_length(),
              profiles[0].config.env().image_size(), profiles[0].config.env().image_size());
  if (has("steps")) StepsSection(**environment, profiles);
  if (has("profile")) ProfileSection(**environment, profiles);
  if (has("grpc")) GrpcSection(**environment, profiles);
  if (has("cem")) CemSection(**environment, profiles);
  std::printf("\nload average at end: %s\n", LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace ivg::bench

int main(int argc, char** argv) {
  ivg::bench::Overrides() = ivg::ExtractConfigOverrides(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_mode) == "publish") return ivg::bench::Publish();
  if (absl::GetFlag(FLAGS_mode) == "param_server") return ivg::bench::ServeParameters();
  if (absl::GetFlag(FLAGS_mode) == "actor") return ivg::bench::RunActor();
  return ivg::bench::Run();
}
