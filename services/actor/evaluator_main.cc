// ivg_evaluator: scores the deterministic policy of the newest parameters on fixed seeds,
// next to random and scripted policies on the same seeds (services/actor/evaluator.h).
// Never inserts into replay.
//
//   ivg_evaluator --config=runs/x/config.textproto [--metrics_address=HOST:PORT]
//
// Start-up, the shared flags, the ready line and the exit codes are
// common/process/service_main.h's. Ready line, once the evaluator is built:
//   ivg_evaluator ready: metrics=HOST:PORT eval_csv=PATH
#include <string>

#include "absl/strings/str_cat.h"
#include "common/metrics/metrics.h"
#include "common/model/heap_settings.h"
#include "common/process/service_main.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "services/actor/evaluator.h"

int main(int argc, char** argv) {
  // Rendering and inference free and re-allocate the same buffers every step: keep them in
  // the heap (common/model/heap_settings.h; actor_bench: 1.5x env steps/s for one actor).
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
  auto evaluator = ivg::actor::Evaluator::Create(config, &registry);
  if (!evaluator.ok()) return process.Fail(evaluator.status(), "cannot create the evaluator");
  process.Ready({{"eval_csv", (*evaluator)->csv_path()}});
  absl::Status status = (*evaluator)->Run([] { return ivg::ShutdownRequested(); });
  if (!status.ok()) return process.Fail(status, "evaluator stopped");
  LOG(INFO) << "evaluator finished " << (*evaluator)->evaluations() << " evaluations";
  return ivg::kExitClean;
}
