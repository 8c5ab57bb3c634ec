// Serves a MetricRegistry at http://<address>/metrics (Prometheus text format), using
// civetweb, the embedded HTTP server prometheus-cpp itself uses.
#ifndef IVG_COMMON_METRICS_METRICS_SERVER_H_
#define IVG_COMMON_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/metrics/metrics.h"

struct mg_context;
struct mg_connection;

namespace ivg::metrics {

class MetricsServer {
 public:
  // Listens on `bind_address` ("127.0.0.1:9400", "0.0.0.0:9400"; port 0 picks a free port).
  // `registry` must outlive the server.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(const std::string& bind_address,
                                                               const MetricRegistry* registry);
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer(::mg_context* context, int port, const MetricRegistry* registry);
  static int HandleMetrics(::mg_connection* connection, void* self);

  ::mg_context* const context_;
  const int port_;
  const MetricRegistry* const registry_;
};

}  // namespace ivg::metrics

#endif  // IVG_COMMON_METRICS_METRICS_SERVER_H_
