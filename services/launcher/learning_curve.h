// The gnuplot script of <run_dir>/learning_curve.png: two panels (against environment steps
// and against wall-clock minutes) with, per task, the evaluator's deterministic return
// (eval.csv), the actors' training return as a moving mean (metrics.csv) and the random and
// scripted baselines as horizontal lines. Pure functions, so tests read the script.
#ifndef IVG_SERVICES_LAUNCHER_LEARNING_CURVE_H_
#define IVG_SERVICES_LAUNCHER_LEARNING_CURVE_H_

#include <map>
#include <string>
#include <vector>

#include "services/launcher/progress_reporter.h"

namespace ivg::launcher {

// Per task, the newest random and scripted means in an eval.csv (other fields NaN); whether
// it has rows of the learned policy goes to `has_learned_rows`. A missing file gives none.
std::map<std::string, EvalScores> ReadEvalBaselines(const std::string& eval_csv_path,
                                                    bool* has_learned_rows);

struct LearningCurveInputs {
  std::string run_dir;
  // Task names in metrics.csv column order: return_<task> columns start at column 9, the
  // smoothed_return_<task> columns follow them.
  std::vector<std::string> task_names;
  std::map<std::string, EvalScores> baselines;
  bool has_learned_rows = false;
};

std::string LearningCurveScript(const LearningCurveInputs& inputs);

}  // namespace ivg::launcher

#endif  // IVG_SERVICES_LAUNCHER_LEARNING_CURVE_H_
