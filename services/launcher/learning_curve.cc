#include "services/launcher/learning_curve.h"

#include <cmath>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ivg::launcher {
namespace {

// eval.csv columns (services/evaluator/evaluator.cc).
constexpr int kPolicyColumn = 1;  // 0-based
constexpr int kTaskColumn = 2;
constexpr int kReturnMeanColumn = 7;

// The first column of metrics.csv's per-task returns (1-based, gnuplot's numbering).
constexpr int kFirstReturnColumn = 9;

}  // namespace

std::map<std::string, EvalScores> ReadEvalBaselines(const std::string& eval_csv_path,
                                                    bool* has_learned_rows) {
  std::map<std::string, EvalScores> baselines;
  *has_learned_rows = false;
  std::ifstream in(eval_csv_path);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    double mean = 0;
    if (fields.size() <= kReturnMeanColumn ||
        !absl::SimpleAtod(fields[kReturnMeanColumn], &mean)) {
      continue;  // A partly written last line.
    }
    const std::string& policy = fields[kPolicyColumn];
    if (policy == "learned") *has_learned_rows = true;
    if (policy == "random") baselines[fields[kTaskColumn]].random = mean;
    if (policy == "scripted") baselines[fields[kTaskColumn]].scripted = mean;
  }
  return baselines;
}

std::string LearningCurveScript(const LearningCurveInputs& in) {
  const std::string metrics = absl::StrCat("'", in.run_dir, "/metrics.csv'");
  const std::string eval = absl::StrCat("'", in.run_dir, "/eval.csv'");
  const int tasks = static_cast<int>(in.task_names.size());
  auto panel = [&](bool against_minutes) {
    std::vector<std::string> curves;
    for (int i = 0; i < tasks; ++i) {
      const std::string& task = in.task_names[i];
      if (in.has_learned_rows) {
        // Rows of this task's learned policy only; the others become undefined points.
        curves.push_back(absl::StrFormat(
            "%s every ::1 using ((strcol(2) eq 'learned' && strcol(3) eq '%s') ? %s : 1/0):8 "
            "with linespoints lw 2 title 'eval %s (deterministic)'",
            eval, task, against_minutes ? "$1/60" : "$6", task));
      }
      curves.push_back(absl::StrFormat(
          "%s every ::1 using %s:%d with lines title 'actors %s (moving mean)'", metrics,
          against_minutes ? "($1/60)" : "3", kFirstReturnColumn + tasks + i, task));
      auto it = in.baselines.find(task);
      if (it != in.baselines.end()) {
        if (std::isfinite(it->second.random)) {
          curves.push_back(absl::StrFormat("%g with lines dt 2 title 'random %s'",
                                           it->second.random, task));
        }
        if (std::isfinite(it->second.scripted)) {
          curves.push_back(absl::StrFormat("%g with lines dt 3 title 'scripted %s'",
                                           it->second.scripted, task));
        }
      }
    }
    return absl::StrCat("set xlabel '",
                        against_minutes ? "wall-clock minutes" : "environment steps",
                        "'; plot ", absl::StrJoin(curves, ", "), "; ");
  };
  return absl::StrCat("set terminal png size 1400,520 noenhanced; set output '", in.run_dir,
                      "/learning_curve.png'; set datafile separator ','; ",
                      "set multiplot layout 1,2; set key left top; set grid; ",
                      "set ylabel 'episode return'; ", panel(false), panel(true),
                      "unset multiplot");
}

}  // namespace ivg::launcher
