// Per-part times of one IVG learner step: each part of LearnerCore::Step run on its own on
// the same batch (forward and, where the step trains through it, backward), so a user can
// see where a step's time goes and what an optimisation bought. The parts add up to less
// than the whole step; the remainder (flattening for the all-reduce, finiteness checks,
// diagnostics, host reads) is reported as "rest".
#ifndef IVG_BENCH_LEARNER_STEP_PROFILE_H_
#define IVG_BENCH_LEARNER_STEP_PROFILE_H_

#include <string>
#include <utility>
#include <vector>

#include "model/core/batch.h"
#include "model/core/learner_core.h"

namespace ivg::bench {

struct PartTime {
  std::string part;
  double median_ms = 0;
};

// Median milliseconds of each part over `repeats` runs (after one warm-up run), then of the
// whole step, then "rest" = step - sum of parts. Leaves the core's parameters as they were
// apart from the Adam part, which runs on copies of the optimisers' inputs.
std::vector<PartTime> ProfileStepParts(model::LearnerCore& core, const model::Batch& batch,
                                       int repeats);

}  // namespace ivg::bench

#endif  // IVG_BENCH_LEARNER_STEP_PROFILE_H_
