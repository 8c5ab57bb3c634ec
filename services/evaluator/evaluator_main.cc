// ivg_evaluator: scores the deterministic policy of the newest parameters on fixed seeds,
// next to random and scripted policies on the same seeds (services/evaluator/evaluator.h).
// Never inserts into replay.
//
//   ivg_evaluator --config=runs/x/config.textproto [--metrics_address=HOST:PORT]
//
// A finished run's final evaluation (bench/learning/run.sh does one): the parameters the
// parameter server stored last, once, on as many seeds as asked, next to the baselines on the
// same seeds; rows go to <run_dir>/final_eval.csv (or --eval_csv), then it exits.
//   ivg_evaluator --config=runs/x/config.textproto \
//       --parameters_file=runs/x/param_server/parameters.pb --set eval.episodes=50
//
// Start-up, the shared flags, the ready line and the exit codes are
// common/process/service_main.h's. Ready line, once the evaluator is built:
//   ivg_evaluator ready: metrics=HOST:PORT eval_csv=PATH
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/metrics.h"
#include "common/process/service_main.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "model/core/heap_settings.h"
#include "services/evaluator/evaluator.h"

ABSL_FLAG(std::string, parameters_file, "",
          "Evaluate these stored parameters (a run's param_server/parameters.pb) once, next to "
          "the baselines, and exit, instead of following the parameter server.");
ABSL_FLAG(std::string, eval_csv, "",
          "Where the rows go; empty = <run_dir>/eval.csv, or <run_dir>/final_eval.csv with "
          "--parameters_file.");

namespace {

// The final evaluation of a finished run: no parameter server, no replay, no video.
int EvaluateStoredParametersOnce(ivg::ServiceMain& process, ivg::metrics::MetricRegistry& registry,
                                 const std::string& path) {
  ivg::ExperimentConfig config = process.config();
  config.mutable_eval()->set_write_videos(false);
  ivg::evaluator::EvaluatorOptions options;
  options.csv_path = absl::GetFlag(FLAGS_eval_csv).empty()
                         ? config.cluster().run_dir() + "/final_eval.csv"
                         : absl::GetFlag(FLAGS_eval_csv);
  options.read_replay = false;
  auto evaluator = ivg::evaluator::Evaluator::Create(config, &registry, options);
  if (!evaluator.ok()) return process.Fail(evaluator.status(), "cannot create the evaluator");
  if (absl::Status s = (*evaluator)->LoadStoredParameters(path); !s.ok()) {
    return process.Fail(s, "cannot load the parameters to evaluate");
  }
  process.Ready({{"eval_csv", (*evaluator)->csv_path()}});
  if (config.eval().score_baselines()) {
    if (absl::Status s = (*evaluator)->ScoreBaselines(); !s.ok()) {
      return process.Fail(s, "scoring the baselines failed");
    }
  }
  if (absl::Status s = (*evaluator)->EvaluateLearned().status(); !s.ok()) {
    return process.Fail(s, "evaluating the parameters failed");
  }
  return ivg::kExitClean;
}

}  // namespace

int main(int argc, char** argv) {
  // Rendering and inference free and re-allocate the same buffers every step: keep them in
  // the heap (model/core/heap_settings.h; actor_bench: 1.5x env steps/s for one actor).
  const std::string heap_settings = ivg::model::KeepFreedMemoryInHeap();
  ivg::ServiceMain process = ivg::ServiceMain::Init(
      {/*name=*/"ivg_evaluator",
       /*usage=*/"Evaluates the newest policy on fixed seeds against random and scripted.",
       /*serves_grpc=*/false},
      argc, argv);
  const ivg::ExperimentConfig& config = process.config();
  LOG(INFO) << heap_settings;
  ivg::metrics::MetricRegistry& registry = ivg::metrics::DefaultRegistry();
  if (absl::Status s = process.StartMetrics(absl::StrCat(config.cluster().host(), ":0"), &registry);
      !s.ok()) {
    return process.Fail(s, "cannot start the metrics server");
  }
  if (const std::string path = absl::GetFlag(FLAGS_parameters_file); !path.empty()) {
    return EvaluateStoredParametersOnce(process, registry, path);
  }
  ivg::evaluator::EvaluatorOptions options;
  options.csv_path = absl::GetFlag(FLAGS_eval_csv);
  auto evaluator = ivg::evaluator::Evaluator::Create(config, &registry, options);
  if (!evaluator.ok()) return process.Fail(evaluator.status(), "cannot create the evaluator");
  process.Ready({{"eval_csv", (*evaluator)->csv_path()}});
  absl::Status status = (*evaluator)->Run([] { return ivg::ShutdownRequested(); });
  if (!status.ok()) return process.Fail(status, "evaluator stopped");
  LOG(INFO) << "evaluator finished " << (*evaluator)->evaluations() << " evaluations";
  return ivg::kExitClean;
}
