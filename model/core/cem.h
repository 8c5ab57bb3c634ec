// The cross-entropy method on the learned latent model (the paper's CEM baseline, F.5):
// instead of a parametric policy, each decision searches action sequences of length H by
// sampling them from a diagonal Gaussian, scoring them with the model's imagined rewards
// plus the bootstrapped learned value, and refitting the Gaussian to the best ones.
#ifndef IVG_MODEL_CORE_CEM_H_
#define IVG_MODEL_CORE_CEM_H_

#include <functional>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>

#include "model/core/networks.h"
#include "model/core/options.h"

namespace ivg::model {

// The model pieces a plan is scored with. Any callables work (tests use closed forms).
struct PlanningModel {
  // (x [S, D], a [S, A]) -> x' [S, D].
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&)> transition;
  // (x' [S, D]) -> reward of the row's task [S], read after the action.
  std::function<at::Tensor(const at::Tensor&)> reward;
  // (x [S, D]) -> V(x) [S] in reward units.
  std::function<at::Tensor(const at::Tensor&)> value;
};

struct CemPlan {
  // The final sampling distribution per start state: [S, H, A] each. mean[:, 0] is the
  // action to take; std[:, 0] its spread (>= options.min_std).
  at::Tensor mean;
  at::Tensor std;
  // Mean score of each iteration's elite sequences: [iterations, S].
  at::Tensor elite_scores;
};

// Plans from every start state x0 [S, D] at once. Sequences are drawn from N(mean, std^2)
// (starting at N(0, I), the policy prior) and clipped to the action bounds [-1, 1], so
// every sequence scored is one the environment would execute. A sequence's score is
//   sum_{j<H} gamma^j r(x_{j+1}) + gamma^H V(x_H).
// Runs without gradients. `generator` seeds the sampling (the global one when absent).
CemPlan PlanWithCem(const PlanningModel& model, const at::Tensor& x0, int action_size,
                    const CemOptions& options, double gamma,
                    c10::optional<at::Generator> generator = c10::nullopt);

// The learned networks as a PlanningModel for start states of tasks `task_ids` [S] (int64):
// the transition, the reward head's output for each row's task, and the value head in reward
// units (its output / value_scale), over PlanWithCem's S * trajectories rows. The holders
// are shared, not copied: the plan uses the networks' current parameters.
PlanningModel LearnedPlanningModel(Transition transition, NormedMlp reward, NormedMlp value,
                                   const at::Tensor& task_ids, int num_tasks, int trajectories,
                                   double value_scale);

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_CEM_H_
