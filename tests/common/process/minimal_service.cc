// The smallest process built on ServiceMain, so service_main_test checks the shared start-up
// (flags, config, /metrics, ready line, port file, exit codes) without a real service's
// dependencies (Redis, LibTorch, MuJoCo).
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/metrics.h"
#include "common/process/service_main.h"
#include "common/shutdown/shutdown_signal.h"

ABSL_FLAG(int, role_id, 0, "A service-specific flag, shown in the ready line.");

int main(int argc, char** argv) {
  ivg::ServiceMain process = ivg::ServiceMain::Init(
      {/*name=*/"ivg_minimal_service", /*usage=*/"Test service.", /*serves_grpc=*/false}, argc,
      argv);
  ivg::metrics::MetricRegistry registry;
  if (absl::Status s =
          process.StartMetrics(absl::StrCat(process.config().cluster().host(), ":0"), &registry);
      !s.ok()) {
    return process.Fail(s, "cannot start the metrics server");
  }
  process.Ready({{"role_id", absl::StrCat(absl::GetFlag(FLAGS_role_id))}});
  ivg::WaitForShutdown();
  return ivg::kExitClean;
}
