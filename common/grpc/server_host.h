// Owns a gRPC server: builds it with explicit message limits and the standard health
// service, reports the port it bound (port 0 picks a free one), and stops it gracefully.
//
// Stop order (docs/architecture.md): health flips to NOT_SERVING so probes and load balancers stop
// sending work; the owner's `on_stop` hooks close domain state (e.g. wake blocked samplers
// so their calls can finish); then the server stops accepting and in-flight calls get until
// the deadline to finish before they are cancelled.
#ifndef IVG_COMMON_GRPC_SERVER_HOST_H_
#define IVG_COMMON_GRPC_SERVER_HOST_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"

namespace ivg {

struct GrpcServerOptions {
  // "host:port"; port 0 binds a free port (see GrpcServerHost::port()).
  std::string address = "127.0.0.1:0";
  // Largest message sent, and received unless max_receive_bytes is set.
  int max_message_bytes = 4 * 1024 * 1024;
  // Largest message received (0: max_message_bytes). gRPC refuses a larger one with
  // RESOURCE_EXHAUSTED before parsing it, so servers size it to their largest valid request.
  int max_receive_bytes = 0;
  // Threads for concurrent calls (a gRPC resource quota): beyond it new calls are refused with
  // RESOURCE_EXHAUSTED instead of each taking a thread and its stack, so a flood of blocking
  // calls cannot exhaust the process. Well above a cluster's clients (tens of actors).
  int max_threads = 512;
  // Concurrent calls per client connection (HTTP/2 streams).
  int max_concurrent_streams = 128;
  // Hooks run by Stop() after health reports NOT_SERVING and before the server shuts down.
  std::vector<std::function<void()>> on_stop;
};

class GrpcServerHost {
 public:
  // Starts serving `services` (not owned; they must outlive the host).
  static absl::StatusOr<std::unique_ptr<GrpcServerHost>> Create(
      GrpcServerOptions options, const std::vector<grpc::Service*>& services);

  ~GrpcServerHost();  // Stops with a zero deadline if Stop() was not called.

  GrpcServerHost(const GrpcServerHost&) = delete;
  GrpcServerHost& operator=(const GrpcServerHost&) = delete;

  int port() const { return port_; }
  // "host:port" with the bound port.
  std::string address() const;

  // Graceful stop; returns once the server is fully shut down (at most about `deadline`
  // after in-flight calls are cancelled). Idempotent and thread-safe.
  void Stop(absl::Duration deadline);

  // Blocks until Stop() has completed.
  void Wait();

 private:
  GrpcServerHost(GrpcServerOptions options, std::unique_ptr<grpc::Server> server, int port);

  const GrpcServerOptions options_;
  const std::unique_ptr<grpc::Server> server_;
  const int port_;
  absl::Mutex mutex_;
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace ivg

#endif  // IVG_COMMON_GRPC_SERVER_HOST_H_
