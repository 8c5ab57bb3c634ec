// ivg_gradient_probe: where a trained model's value gradient points, measured against where
// the task's object really is.
//
// The policy is trained to move its mean along d J / d a, J the imagined objective
// (r_hat after each imagined step, V after the last). On Reach-R no trained policy steers at
// the cube (bench/README.md, "where the policies head"); this tool says which link of the
// chain loses the cube's direction. It loads a learner checkpoint and its run's config, plays
// episodes in the real environment (the scripted controller with action noise, which visits
// every distance from the cube, and uniform random actions), encodes each step's last H
// frames as the actors do, and per distance bucket reports:
//   - the reward head r_hat(e_t) against the step's true reward (mean and explained variance);
//   - the value V(e_t) (does it fall with the distance?);
//   - the cosine between the TCP->object direction and the xyz part of
//       d r_hat(T(e, a)) / d a       (one imagined step, reward only),
//       d V(T(e, a)) / d a           (one imagined step, value only),
//       d J(a) / d a                 (the policy objective: a first, then the policy's mean
//                                     for N - 1 steps, gamma^N V at the end),
//     at a = 0 (the TCP held still) and at a = the policy's mean (clipped to +-0.95);
//   - the policy mean's own heading cosine.
// A cosine near 1 means the signal points at the cube; near 0, blind to it.
//
//   ivg_gradient_probe --run_dir=runs/bench_X [--checkpoint=checkpoint_rank0.pt]
//                      [--episodes=20] [--seed=5000] [--noise=0.3] [--task_index=0]
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/config/derived_values.h"
#include "common/status/status_macros.h"
#include "env/model_proprio.h"
#include "env/reward_terms.h"
#include "env/sawyer_env.h"
#include "env/scripted_policies.h"
#include "env/target_approach.h"
#include "env/task_table.h"
#include "model/config/model_config.h"
#include "model/core/heap_settings.h"
#include "model/core/learner_core.h"
#include "model/core/proprio_scaling.h"

ABSL_FLAG(std::string, run_dir, "", "run directory with config.textproto and checkpoints");
ABSL_FLAG(std::string, checkpoint, "checkpoint_rank0.pt", "checkpoint file in --run_dir");
ABSL_FLAG(int, episodes, 20, "episodes");
ABSL_FLAG(std::string, behaviour, "mixed",
          "who acts: mixed (even episodes the scripted controller with noise, odd ones uniform "
          "random) or policy (the trained policy's mean, as the evaluator acts)");
ABSL_FLAG(int, seed, 5000, "first episode seed (disjoint from actors' and eval seeds)");
ABSL_FLAG(double, noise, 0.3, "std of the Gaussian noise added to the scripted actions");
ABSL_FLAG(int, task_index, 0, "task whose reward, value and object are probed");
ABSL_FLAG(int, optimize_steps, 0,
          "then: this many Adam steps of the policy alone on the probed states, the model "
          "fixed (the learner's policy loss), reporting the policy's heading as it goes");
ABSL_FLAG(double, optimize_lr, 5e-5, "learning rate of --optimize_steps");
ABSL_FLAG(int, optimize_batch, 64, "start states per step of --optimize_steps");
ABSL_FLAG(int, optimize_eval_episodes, 20,
          "episodes the deterministic policy plays before and after --optimize_steps (seeds "
          "after the probed ones)");

namespace ivg {
namespace {

using env::Vec3;

// Distance buckets (metres): inside the reward's margin, at its edge, beyond it.
constexpr double kBucketEdges[] = {0.03, 0.08, 0.15, 0.25};
constexpr int kBuckets = 4;  // [0.03, 0.08), [0.08, 0.15), [0.15, 0.25), >= 0.25.

int BucketOf(double distance) {
  if (distance < kBucketEdges[0]) return -1;  // At the object: no direction to point in.
  for (int b = kBuckets - 1; b >= 0; --b) {
    if (distance >= kBucketEdges[b]) return b;
  }
  return -1;
}

struct Mean {
  double sum = 0;
  int n = 0;
  void Add(double x) {
    if (std::isfinite(x)) sum += x, ++n;
  }
  double value() const { return n > 0 ? sum / n : NAN; }
};

struct BucketStats {
  int steps = 0;
  Mean true_reward, predicted_reward, value;
  std::vector<double> rewards, predicted_rewards;  // For the explained variance.
  Mean cos_reward_at_zero, cos_value_at_zero, cos_objective_at_zero;
  Mean cos_reward_at_mean, cos_value_at_mean, cos_objective_at_mean;
  Mean objective_grad_norm, policy_heading, cos_learner_objective;
};

// Cosine between the xyz part of `grad` [1, A] and `direction`; NaN for a zero gradient.
double XyzCosine(const at::Tensor& grad, const Vec3& direction) {
  const at::Tensor g = grad.reshape({-1}).to(at::kDouble);
  double dot = 0, gg = 0, dd = 0;
  for (int i = 0; i < 3; ++i) {
    const double gi = g[i].item<double>();
    dot += gi * direction[i];
    gg += gi * gi;
    dd += direction[i] * direction[i];
  }
  return gg > 0 && dd > 0 ? dot / std::sqrt(gg * dd) : NAN;
}

// The probe reads pixels only where the model does.
env::EnvOptions ProbeEnvOptions(const ExperimentConfig& config) {
  env::EnvOptions options;
  options.render = env::ObservesPixels(config.env());
  return options;
}

class Probe {
 public:
  Probe(model::LearnerCore* core, const ExperimentConfig& config, int task_index)
      : model_(core->model()),
        options_(core->options()),
        bounds_(model::ProprioBoundsFromConfig(config)),
        env_config_(config.env()) {
    model_->eval();
    ids_ = at::full({1}, task_index, at::kLong);
    onehot_ = model::TaskOneHot(ids_, options_.model.num_tasks,
                                model_->transition->parameters().front());
  }

  // The latent e_t of the newest observation of `window` (at most H), as the actors compute it.
  // With H frames it is the learner's start state for the same frames: the same encoder call
  // the learner's ComputeModelLoss makes for ModelLossTerms::start_latents
  // (tests/model/policy/policy_runner_test.cc pins learner and actor together), so the
  // learner objective's d/d mu below is measured where the learner trains the policy.
  at::Tensor Encode(const std::vector<env::Observation>& window) {
    const int t_len = static_cast<int>(window.size());
    const model::ModelOptions& m = options_.model;
    at::Tensor images = at::empty({1, t_len, m.image_channels, m.image_size, m.image_size},
                                  at::kByte);
    at::Tensor proprio = at::empty({1, t_len, m.proprio_size}, at::kFloat);
    const size_t image_bytes = static_cast<size_t>(m.image_channels) * m.image_size * m.image_size;
    for (int t = 0; t < t_len; ++t) {
      if (image_bytes > 0) {  // none from state
        std::memcpy(images.data_ptr<uint8_t>() + t * image_bytes, window[t].pixels.data(),
                    image_bytes);
      }
      const std::vector<float> p = env::ModelProprio(window[t], env_config_);
      std::memcpy(proprio.data_ptr<float>() + t * m.proprio_size, p.data(),
                  m.proprio_size * sizeof(float));
    }
    torch::NoGradGuard no_grad;
    const at::Tensor features = model_->encoder->EncodeFrames(
        images.to(at::kFloat) / 255.0, model::ScaleProprio(proprio, bounds_));
    return model_->encoder->IntegrateWindows(features, t_len).select(1, 0);
  }

  double Reward(const at::Tensor& h) {
    torch::NoGradGuard no_grad;
    return model::HeadReward(*model_->reward, h, ids_).item<double>();
  }
  double Value(const at::Tensor& h) {
    torch::NoGradGuard no_grad;
    return (model_->Value(h, onehot_) / model::ValueScale(options_.loss)).item<double>();
  }
  // The deterministic policy's action (the mean) for the newest observation of `window`.
  std::vector<float> Act(const std::vector<env::Observation>& window) {
    const at::Tensor mean = PolicyMean(Encode(window)).contiguous();
    return std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
  }
  at::Tensor PolicyMean(const at::Tensor& h) {
    torch::NoGradGuard no_grad;
    return model_->policy->forward(h, onehot_).first;
  }

  // d/da of r_hat(T(h, a)), V(T(h, a)) and J(a), the executed action a taken as given.
  struct Gradients {
    at::Tensor reward, value, objective;
  };
  Gradients At(const at::Tensor& h, const at::Tensor& executed_action) {
    Gradients g;
    g.reward = Grad(h, executed_action, [&](const at::Tensor& next) {
      return model::HeadReward(*model_->reward, next, ids_);
    });
    g.value = Grad(h, executed_action, [&](const at::Tensor& next) {
      return model_->Value(next, onehot_) / model::ValueScale(options_.loss);
    });
    // J(a) = r_hat(x_1) + sum_{j=1}^{N-1} gamma^j r_hat(x_{j+1}) + gamma^N V(x_N): a first,
    // then the policy's mean, no noise and no KL term.
    at::Tensor a = executed_action.detach().clone().set_requires_grad(true);
    model::ImaginationOptions io = LearnerImagination();
    io.single_horizon = true;
    io.kl_lambda = 0.0;
    const at::Tensor objective = ImaginedObjective(
        h, a, at::zeros_like(a), at::zeros({io.horizon, 1, options_.model.action_size}), io);
    g.objective = torch::autograd::grad({objective.sum()}, {a})[0].detach();
    return g;
  }

  // d/d mu of the learner's policy objective (ComputePolicyLoss without its regularisers:
  // sampled actions, the KL-regularised reward, the average over horizons) at the policy's
  // own mean mu(h), averaged over `samples` noise draws. What one policy step pushes mu
  // towards at h.
  at::Tensor LearnerObjectiveGradient(const at::Tensor& h, int samples, at::Generator& rng) {
    auto [mu0, log_std0] = model_->policy->forward(h, onehot_);
    at::Tensor mu = mu0.detach().repeat({samples, 1}).set_requires_grad(true);
    const model::ImaginationOptions io = LearnerImagination();
    const at::Tensor noise =
        at::randn({io.horizon, samples, options_.model.action_size}, rng, at::kFloat);
    const at::Tensor objective = ImaginedObjective(h.detach().repeat({samples, 1}), mu,
                                                   log_std0.detach().repeat({samples, 1}),
                                                   noise, io)
                                     .mean();
    return torch::autograd::grad({objective}, {mu})[0].sum(0, /*keepdim=*/true).detach();
  }

 private:
  template <typename F>
  at::Tensor Grad(const at::Tensor& h, const at::Tensor& action, F after_step) {
    at::Tensor a = action.detach().clone().set_requires_grad(true);
    at::Tensor out = after_step(model_->transition->forward(h, a)).sum();
    return torch::autograd::grad({out}, {a})[0].detach();
  }

  // The imagination settings the learner's policy loss uses.
  model::ImaginationOptions LearnerImagination() const {
    const model::LossOptions& o = options_.loss;
    model::ImaginationOptions io;
    io.horizon = std::max(1, o.imagination_horizon);
    io.single_horizon = o.single_horizon;
    io.gamma = o.gamma;
    io.kl_lambda = o.kl_regularization ? o.kl_lambda : 0.0;
    return io;
  }

  // ImaginedValueObjective from start states x0 [S, D] (the probed task), the first action
  // drawn from (first_mean, first_log_std) and the policy's after it, the actions entering the
  // transition as the learner's do.
  at::Tensor ImaginedObjective(const at::Tensor& x0, const at::Tensor& first_mean,
                               const at::Tensor& first_log_std, const at::Tensor& noise,
                               const model::ImaginationOptions& io) {
    const int64_t rows = x0.size(0);
    const at::Tensor ids = ids_.repeat({rows});
    const at::Tensor onehot = onehot_.repeat({rows, 1});
    bool first = true;
    model::ImaginationModel fns;
    fns.policy = [&](const at::Tensor& x) -> std::pair<at::Tensor, at::Tensor> {
      if (first) {
        first = false;
        return {first_mean, first_log_std};
      }
      return model_->policy->forward(x, onehot);
    };
    fns.transition = [&](const at::Tensor& x, const at::Tensor& a) {
      return model_->transition->forward(x,
                                         model::ModelInputAction(a, options_.model, options_.loss));
    };
    fns.reward = [&](const at::Tensor& x) { return model::HeadReward(*model_->reward, x, ids); };
    fns.value = [&](const at::Tensor& x) {
      return model_->Value(x, onehot) / model::ValueScale(options_.loss);
    };
    return model::ImaginedValueObjective(fns, x0, noise, io);
  }

  model::IvgModel model_;
  const model::CoreOptions& options_;
  model::ProprioBounds bounds_;
  EnvConfig env_config_;
  at::Tensor ids_, onehot_;
};

// The deterministic policy's mean return, heading cosine and reached rate on `episodes`
// episodes from seed `first_seed`.
absl::Status ReportPolicyEpisodes(const char* label, Probe& probe, env::SawyerEnv& environment,
                                  env::ObjectId object, int history, int episodes,
                                  int first_seed) {
  Mean episode_return, heading, reached;
  for (int episode = 0; episode < episodes; ++episode) {
    IVG_ASSIGN_OR_RETURN(env::TimeStep step, environment.Reset(first_seed + episode));
    std::vector<env::Observation> window;
    env::TargetApproach approach;
    double total = 0;
    while (!step.last) {
      window.push_back(step.observation);
      if (static_cast<int>(window.size()) > history) window.erase(window.begin());
      const std::vector<float> action = probe.Act(window);
      approach.Observe(environment.TcpPosition(), environment.ObjectPosition(object), action);
      IVG_ASSIGN_OR_RETURN(step, environment.Step(action));
      total += step.reward;
    }
    approach.ObserveFinal(environment.TcpPosition(), environment.ObjectPosition(object));
    episode_return.Add(total);
    heading.Add(approach.heading_cosine());
    reached.Add(approach.closest_distance() <= env::TargetApproach::kReachedDistance ? 1 : 0);
  }
  std::printf("%s: %d episodes from seed %d: return %.1f heading %.3f reached %.0f%%\n", label,
              episodes, first_seed, episode_return.value(), heading.value(),
              100 * reached.value());
  return absl::OkStatus();
}

// Trains the policy alone on fixed start states with the learner's policy loss and Adam
// (the model frozen) and prints the policy's mean heading over all of them as it goes: can the
// policy follow its gradient at all, given the states and a fixed model?
void OptimizePolicy(model::LearnerCore* core, int task_index, const at::Tensor& latents,
                    const std::vector<Vec3>& directions) {
  model::IvgModel model = core->model();
  const model::CoreOptions& o = core->options();
  const int64_t count = latents.size(0);
  const int64_t batch = std::min<int64_t>(absl::GetFlag(FLAGS_optimize_batch), count);
  torch::optim::Adam adam(model->PolicyParameters(),
                          torch::optim::AdamOptions(absl::GetFlag(FLAGS_optimize_lr))
                              .betas(std::make_tuple(o.optimizer.adam_beta1,
                                                     o.optimizer.adam_beta2))
                              .eps(o.optimizer.adam_epsilon));
  at::Generator rng = at::make_generator<at::CPUGeneratorImpl>(absl::GetFlag(FLAGS_seed) + 1);
  const at::Tensor all_ids = at::full({count}, task_index, at::kLong);
  const at::Tensor all_onehot =
      model::TaskOneHot(all_ids, o.model.num_tasks, model->transition->parameters().front());
  auto heading = [&]() {
    torch::NoGradGuard no_grad;
    const at::Tensor mean = model->policy->forward(latents, all_onehot).first.clamp(-1.0, 1.0);
    Mean cosine;
    for (int64_t i = 0; i < count; ++i) cosine.Add(XyzCosine(mean[i], directions[i]));
    return cosine.value();
  };
  const int steps = absl::GetFlag(FLAGS_optimize_steps);
  std::printf("policy alone on %lld fixed states, lr %.1e, batch %lld: step 0 heading %.3f\n",
              static_cast<long long>(count), absl::GetFlag(FLAGS_optimize_lr),
              static_cast<long long>(batch), heading());
  for (int step = 1; step <= steps; ++step) {
    const at::Tensor rows = at::randint(count, {batch}, rng, at::kLong);
    const at::Tensor noise = at::randn(
        {std::max(1, o.loss.imagination_horizon), batch * o.loss.policy_rollouts_per_start(),
         o.model.action_size},
        rng, at::kFloat);
    adam.zero_grad();
    at::Tensor loss = model::ComputePolicyLoss(*model, latents.index_select(0, rows).unsqueeze(1),
                                               all_ids.index_select(0, rows), noise, o.loss);
    const std::vector<at::Tensor> params = model->PolicyParameters();
    const auto grads = torch::autograd::grad({loss}, params);
    for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = grads[i];
    adam.step();
    if (step % std::max(1, steps / 10) == 0) {
      std::printf("  step %d: loss %.4f heading %.3f\n", step, loss.item<double>(), heading());
    }
  }
}

absl::Status RunProbe() {
  const std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  if (run_dir.empty()) return absl::InvalidArgumentError("--run_dir is required");
  const std::string behaviour = absl::GetFlag(FLAGS_behaviour);
  if (behaviour != "mixed" && behaviour != "policy") {
    return absl::InvalidArgumentError(
        absl::StrCat("--behaviour '", behaviour, "' is neither 'mixed' nor 'policy'"));
  }
  IVG_ASSIGN_OR_RETURN(ExperimentConfig config,
                       LoadExperimentConfig(run_dir + "/config.textproto", {}));
  const int task_index = absl::GetFlag(FLAGS_task_index);
  if (task_index < 0 || task_index >= NumTasks(config)) {
    return absl::InvalidArgumentError(absl::StrCat("--task_index ", task_index,
                                                   " is outside [0, ", NumTasks(config), ")"));
  }
  const Task task = TaskAt(config, task_index);
  IVG_ASSIGN_OR_RETURN(const env::TaskSpec* task_spec, env::FindTask(task));
  const std::optional<env::ObjectId> object = task_spec->target_object;
  if (!object) {
    return absl::InvalidArgumentError(
        absl::StrCat("task ", Task_Name(task), " has no single target object to probe"));
  }
  IVG_ASSIGN_OR_RETURN(model::CoreOptions core_options, model::CoreOptionsFromConfig(config));
  core_options.use_cuda_if_available = false;
  model::Result<std::unique_ptr<model::LearnerCore>> created =
      model::LearnerCore::Create(core_options);
  if (!created.ok()) return absl::InternalError(created.error());
  std::unique_ptr<model::LearnerCore> core = created.consume();
  const std::string checkpoint = run_dir + "/" + absl::GetFlag(FLAGS_checkpoint);
  model::Result<std::string> loaded = core->LoadCheckpoint(checkpoint);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(checkpoint, ": ", loaded.error()));
  }
  Probe probe(core.get(), config, task_index);

  IVG_ASSIGN_OR_RETURN(std::unique_ptr<env::SawyerEnv> environment,
                       env::SawyerEnv::Create(config.env(), ProbeEnvOptions(config)));
  IVG_RETURN_IF_ERROR(environment->SetTaskIndex(task_index));
  const int history = config.learner().burn_in();
  const int action_size = core_options.model.action_size;
  std::vector<BucketStats> buckets(kBuckets);
  // The policy mean per action dimension over the probed steps: its average and mean |.|.
  std::vector<Mean> mean_action(action_size), mean_abs_action(action_size);
  // The learner objective's gradient w.r.t. the mean, per dimension, averaged over steps.
  std::vector<Mean> learner_gradient(action_size);
  std::vector<at::Tensor> probed_latents;
  std::vector<Vec3> probed_directions;
  at::Generator noise_rng = at::make_generator<at::CPUGeneratorImpl>(absl::GetFlag(FLAGS_seed));
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  std::normal_distribution<float> gaussian(0.0f, absl::GetFlag(FLAGS_noise));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);

  for (int episode = 0; episode < absl::GetFlag(FLAGS_episodes); ++episode) {
    const bool scripted_episode = episode % 2 == 0;
    const bool policy_episode = behaviour == "policy";
    IVG_ASSIGN_OR_RETURN(env::TimeStep step,
                         environment->Reset(absl::GetFlag(FLAGS_seed) + episode));
    auto scripted = env::ScriptedTaskPolicy::ForTask(task, config.env().reward());
    std::vector<env::Observation> window;
    while (!step.last) {
      window.push_back(step.observation);
      if (static_cast<int>(window.size()) > history) window.erase(window.begin());
      const Vec3 tcp = environment->TcpPosition();
      const Vec3 target = environment->ObjectPosition(*object);
      const Vec3 direction = {target[0] - tcp[0], target[1] - tcp[1], target[2] - tcp[2]};
      const int bucket = BucketOf(env::Distance(tcp, target));
      if (bucket >= 0 && static_cast<int>(window.size()) == history) {
        const at::Tensor h = probe.Encode(window);
        probed_latents.push_back(h);
        probed_directions.push_back(direction);
        BucketStats& s = buckets[bucket];
        ++s.steps;
        if (step.step > 0) {  // r_hat(e_t) predicts the reward of the step into t.
          const double predicted = probe.Reward(h);
          s.true_reward.Add(step.reward);
          s.predicted_reward.Add(predicted);
          s.rewards.push_back(step.reward);
          s.predicted_rewards.push_back(predicted);
        }
        s.value.Add(probe.Value(h));
        const at::Tensor mean = probe.PolicyMean(h);
        s.policy_heading.Add(XyzCosine(mean.clamp(-1.0, 1.0), direction));
        for (int i = 0; i < action_size; ++i) {
          mean_action[i].Add(mean[0][i].item<double>());
          mean_abs_action[i].Add(std::abs(mean[0][i].item<double>()));
        }
        const at::Tensor learner = probe.LearnerObjectiveGradient(h, 16, noise_rng);
        s.cos_learner_objective.Add(XyzCosine(learner, direction));
        for (int i = 0; i < action_size; ++i) learner_gradient[i].Add(learner[0][i].item<double>());
        const Probe::Gradients zero = probe.At(h, at::zeros({1, action_size}));
        s.cos_reward_at_zero.Add(XyzCosine(zero.reward, direction));
        s.cos_value_at_zero.Add(XyzCosine(zero.value, direction));
        s.cos_objective_at_zero.Add(XyzCosine(zero.objective, direction));
        s.objective_grad_norm.Add(zero.objective.slice(1, 0, 3).norm().item<double>());
        const Probe::Gradients at_mean = probe.At(h, mean.clamp(-0.95, 0.95));
        s.cos_reward_at_mean.Add(XyzCosine(at_mean.reward, direction));
        s.cos_value_at_mean.Add(XyzCosine(at_mean.value, direction));
        s.cos_objective_at_mean.Add(XyzCosine(at_mean.objective, direction));
      }
      std::vector<float> action(env::kActionSize);
      if (policy_episode) {
        // A window shorter than H at the episode's start, as the evaluator's policy sees it.
        action = probe.Act(window);
      } else if (scripted_episode) {
        const env::Action a = scripted->Act(*environment);
        for (int i = 0; i < env::kActionSize; ++i) action[i] = a[i] + gaussian(rng);
      } else {
        for (float& a : action) a = uniform(rng);
      }
      IVG_ASSIGN_OR_RETURN(step, environment->Step(action));
    }
  }

  std::printf("# %s, task %s, %d episodes from seed %d (even: scripted + N(0, %.2f), odd: "
              "random)\n",
              checkpoint.c_str(), Task_Name(task).c_str(), absl::GetFlag(FLAGS_episodes),
              absl::GetFlag(FLAGS_seed), absl::GetFlag(FLAGS_noise));
  std::printf("# cos_*: cosine of d(.)/da (xyz) with TCP->object; @0 at a = 0, @mu at the "
              "policy mean\n");
  std::printf("%-11s %6s %8s %8s %7s %8s %8s %8s %8s %8s %8s %8s %8s %9s %8s\n", "distance",
              "steps", "r_true", "r_hat", "r_ev", "V", "cos_r@0", "cos_V@0", "cos_J@0",
              "cos_r@mu", "cos_V@mu", "cos_J@mu", "cos_mu", "|dJ/da|@0", "cos_L@mu");
  const char* names[kBuckets] = {"3-8 cm", "8-15 cm", "15-25 cm", ">= 25 cm"};
  for (int b = 0; b < kBuckets; ++b) {
    const BucketStats& s = buckets[b];
    std::printf("%-11s %6d %8.4f %8.4f %7.2f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f "
                "%9.2e %8.3f\n",
                names[b], s.steps, s.true_reward.value(), s.predicted_reward.value(),
                model::ExplainedVariance(at::tensor(s.predicted_rewards, at::kDouble),
                                         at::tensor(s.rewards, at::kDouble)), s.value.value(),
                s.cos_reward_at_zero.value(), s.cos_value_at_zero.value(),
                s.cos_objective_at_zero.value(), s.cos_reward_at_mean.value(),
                s.cos_value_at_mean.value(), s.cos_objective_at_mean.value(),
                s.policy_heading.value(), s.objective_grad_norm.value(),
                s.cos_learner_objective.value());
  }
  std::printf("policy mean per action dimension (average / average |.|):");
  for (int i = 0; i < action_size; ++i) {
    std::printf(" %.2f/%.2f", mean_action[i].value(), mean_abs_action[i].value());
  }
  std::printf("\nlearner objective's d/d mu per action dimension (average):");
  for (int i = 0; i < action_size; ++i) std::printf(" %.3f", learner_gradient[i].value());
  std::printf("\n");
  if (absl::GetFlag(FLAGS_optimize_steps) > 0 && !probed_latents.empty()) {
    const int eval_episodes = absl::GetFlag(FLAGS_optimize_eval_episodes);
    const int eval_seed = absl::GetFlag(FLAGS_seed) + absl::GetFlag(FLAGS_episodes);
    if (eval_episodes > 0) {
      IVG_RETURN_IF_ERROR(ReportPolicyEpisodes("policy as trained", probe, *environment, *object,
                                               history, eval_episodes, eval_seed));
    }
    OptimizePolicy(core.get(), task_index, at::cat(probed_latents, 0), probed_directions);
    if (eval_episodes > 0) {
      IVG_RETURN_IF_ERROR(ReportPolicyEpisodes("policy after --optimize_steps", probe,
                                               *environment, *object, history, eval_episodes,
                                               eval_seed));
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace ivg

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  ivg::model::KeepFreedMemoryInHeap();
  const absl::Status status = ivg::RunProbe();
  if (!status.ok()) {
    std::fprintf(stderr, "ivg_gradient_probe: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
