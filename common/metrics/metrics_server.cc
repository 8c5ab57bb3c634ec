#include "common/metrics/metrics_server.h"

#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "absl/strings/str_cat.h"
#include "civetweb.h"

// A floor under requested thread stack sizes, in the same object file as MetricsServer so
// every process that serves /metrics links it.
//
// Why: Debian's civetweb creates its threads with a fixed 100 KB stack (compile-time
// USE_STACK_SIZE). glibc refuses (EINVAL) a stack smaller than the process's static TLS plus
// a guard page, and LibTorch with OpenBLAS (OpenMP) and glog alone need more than that, so
// mg_start fails in every process that links LibTorch (learner, actor, parameter server).
// Defining pthread_attr_setstacksize in the executable interposes the libc symbol for the
// shared libraries; it forwards to libc with at least 2 MiB. Larger requests are unchanged.
extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, size_t size) noexcept {
  using Fn = int (*)(pthread_attr_t*, size_t);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  constexpr size_t kFloor = size_t{2} << 20;
  return real(attr, std::max(size, kFloor));
}

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
