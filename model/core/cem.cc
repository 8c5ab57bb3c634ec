#include "model/core/cem.h"

#include <algorithm>
#include <vector>

#include <ATen/ATen.h>
#include <torch/utils.h>

namespace ivg::model {

CemPlan PlanWithCem(const PlanningModel& model, const at::Tensor& x0, int action_size,
                    const CemOptions& o, double gamma, c10::optional<at::Generator> generator) {
  torch::NoGradGuard no_grad;
  const int64_t s = x0.size(0), n = o.trajectories, h = o.horizon;
  const int64_t elites = std::min<int64_t>(o.elites, n);
  at::Tensor mean = at::zeros({s, h, action_size}, x0.options());
  at::Tensor std = at::ones({s, h, action_size}, x0.options());
  // Every start state's n sequences are consecutive rows.
  const at::Tensor starts = x0.repeat_interleave(n, 0);  // [S * N, D]
  std::vector<at::Tensor> elite_scores;
  for (int iteration = 0; iteration < o.iterations; ++iteration) {
    // Noise on the CPU generator, then to the model's device: the same plan on every device.
    at::Tensor noise =
        at::randn({s, n, h, action_size}, generator, at::TensorOptions().dtype(x0.scalar_type()))
            .to(x0.device());
    at::Tensor actions = (mean.unsqueeze(1) + std.unsqueeze(1) * noise).clamp(-1.0, 1.0);
    at::Tensor flat = actions.reshape({s * n, h, action_size});
    at::Tensor x = starts;
    at::Tensor score = at::zeros({s * n}, x0.options());
    double discount = 1.0;
    for (int64_t j = 0; j < h; ++j) {
      x = model.transition(x, flat.select(1, j));
      score = score + discount * model.reward(x);
      discount *= gamma;
    }
    score = (score + discount * model.value(x)).view({s, n});
    auto [top, index] = score.topk(elites, /*dim=*/1);
    at::Tensor best = actions.gather(
        1, index.view({s, elites, 1, 1}).expand({s, elites, h, action_size}));
    mean = best.mean(1);
    std = best.std(1, /*unbiased=*/false).clamp_min(o.min_std);
    elite_scores.push_back(top.mean(1));
  }
  return CemPlan{mean, std, at::stack(elite_scores)};
}

PlanningModel LearnedPlanningModel(Transition transition, NormedMlp reward, NormedMlp value,
                                   const at::Tensor& task_ids, int num_tasks, int trajectories,
                                   double value_scale) {
  const at::Tensor rows = task_ids.repeat_interleave(trajectories);  // [S * N]
  const at::Tensor like = transition->parameters().front();
  const at::Tensor row_tasks = rows.to(like.device());
  const at::Tensor onehot = at::one_hot(row_tasks, num_tasks).to(like.options());
  PlanningModel m;
  m.transition = [transition](const at::Tensor& x, const at::Tensor& a) mutable {
    return transition->forward(x, a);
  };
  m.reward = [reward, row_tasks](const at::Tensor& x) mutable {
    return HeadReward(*reward, x, row_tasks);
  };
  m.value = [value, onehot, value_scale](const at::Tensor& x) mutable {
    return HeadValue(*value, x, onehot) / value_scale;
  };
  return m;
}

}  // namespace ivg::model
