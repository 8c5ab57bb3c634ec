#include "common/metrics/metrics_server.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "civetweb.h"

namespace ivg::metrics {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(
    const std::string& bind_address, const MetricRegistry* registry) {
  static const bool initialised = [] {
    mg_init_library(0);
    return true;
  }();
  (void)initialised;
  const char* options[] = {"listening_ports", bind_address.c_str(), "num_threads", "2",
                           nullptr};
  mg_callbacks callbacks = {};
  mg_context* context = mg_start(&callbacks, nullptr, options);
  if (context == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("metrics server could not listen on ", bind_address,
                     " (port in use or bad address)"));
  }
  mg_server_port ports[4] = {};
  const int num_ports = mg_get_server_ports(context, 4, ports);
  if (num_ports < 1 || ports[0].port <= 0) {
    mg_stop(context);
    return absl::InternalError(
        absl::StrCat("metrics server on ", bind_address, " reports no bound port"));
  }
  auto server =
      std::unique_ptr<MetricsServer>(new MetricsServer(context, ports[0].port, registry));
  mg_set_request_handler(context, "/metrics$", &MetricsServer::HandleMetrics, server.get());
  return server;
}

MetricsServer::MetricsServer(mg_context* context, int port, const MetricRegistry* registry)
    : context_(context), port_(port), registry_(registry) {}

MetricsServer::~MetricsServer() { mg_stop(context_); }

int MetricsServer::HandleMetrics(mg_connection* connection, void* self) {
  const std::string body = static_cast<MetricsServer*>(self)->registry_->Serialize();
  mg_printf(connection,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: %zu\r\n"
            "Connection: close\r\n\r\n",
            body.size());
  mg_write(connection, body.data(), body.size());
  return 200;
}

}  // namespace ivg::metrics
