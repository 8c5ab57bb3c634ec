// ivg_actor: one actor process. Acts (environment + policy -> replay) until SIGINT/SIGTERM.
//
//   ivg_actor --config=runs/x/config.textproto --actor_id=3 [--metrics_address=HOST:PORT]
//
// Start-up, the shared flags, the ready line and the exit codes are
// common/process/service_main.h's. Ready line, once the actor is built and about to act:
//   ivg_actor ready: metrics=HOST:PORT actor_id=A
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/metrics.h"
#include "common/process/service_main.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "model/core/heap_settings.h"
#include "services/actor/actor.h"

ABSL_FLAG(int, actor_id, 0, "This actor's id: seeds its environment and picks its replay shard.");

int main(int argc, char** argv) {
  // Rendering and inference free and re-allocate the same buffers every step: keep them in
  // the heap (model/core/heap_settings.h; actor_bench: 1.5x env steps/s for one actor).
  const std::string heap_settings = ivg::model::KeepFreedMemoryInHeap();
  ivg::ServiceMain process = ivg::ServiceMain::Init(
      {/*name=*/"ivg_actor", /*usage=*/"Runs one IVG actor: environment + policy -> replay.",
       /*serves_grpc=*/false},
      argc, argv);
  const ivg::ExperimentConfig& config = process.config();
  ivg::metrics::MetricRegistry& registry = ivg::metrics::DefaultRegistry();
  if (absl::Status s = process.StartMetrics(absl::StrCat(config.cluster().host(), ":0"), &registry);
      !s.ok()) {
    return process.Fail(s, "cannot start the metrics server");
  }
  const int actor_id = absl::GetFlag(FLAGS_actor_id);
  auto actor = ivg::actor::Actor::Create(config, actor_id, &registry);
  if (!actor.ok()) {
    return process.Fail(actor.status(), absl::StrCat("cannot create actor ", actor_id));
  }
  LOG(INFO) << "actor " << actor_id << " running (profile " << config.profile() << "; "
            << heap_settings << ")";
  process.Ready({{"actor_id", absl::StrCat(actor_id)}});
  absl::Status status = (*actor)->Run([] { return ivg::ShutdownRequested(); });
  if (!status.ok()) return process.Fail(status, absl::StrCat("actor ", actor_id, " stopped"));
  LOG(INFO) << "actor " << actor_id << " finished " << (*actor)->episodes_finished() << " episodes";
  return ivg::kExitClean;
}
