// The acting processes' side of the parameter server (algorithm 1: an actor fetches the newest
// parameters at each episode start; the evaluator before each evaluation): keeps a local
// PolicyRunner at the newest published actor group (encoder + policy). One stub, the
// cluster's deadline on every call. Like a replay client, it is the parameter server's public
// API for other services (docs/architecture.md, "The dependency rule"). Not thread-safe: one
// per acting loop.
#ifndef IVG_SERVICES_PARAM_SERVER_CLIENT_ACTOR_PARAMETER_CLIENT_H_
#define IVG_SERVICES_PARAM_SERVER_CLIENT_ACTOR_PARAMETER_CLIENT_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/policy/policy_runner.h"
#include "proto/config.pb.h"
#include "proto/params.grpc.pb.h"

namespace ivg::param_server {

class ActorParameterClient {
 public:
  // A stub to cluster.param_server_address with the cluster's message limit and deadline.
  static std::unique_ptr<ActorParameterClient> Create(const ExperimentConfig& config);
  ActorParameterClient(std::unique_ptr<ParameterService::StubInterface> stub,
                       absl::Duration deadline);

  struct Refreshed {
    // The server's newest version (what `policy` holds after an up-to-date answer).
    int64_t newest_version = -1;
    // The learner step the newest parameters were published at; -1 unless they were loaded.
    int64_t learner_step = -1;
    // New parameters arrived and `policy` now holds them.
    bool loaded = false;
    // New parameters arrived but `policy` refused them (it keeps the ones it had).
    absl::Status load_error;
  };

  // Fetches the actor group if the server has a newer one than `policy.version()` and loads
  // it into `policy`. Errors are the call's: NOT_FOUND before the first publish, UNAVAILABLE,
  // DEADLINE_EXCEEDED. A refused load is not an error of the call (Refreshed::load_error), so
  // callers tell a dead server from bad data.
  absl::StatusOr<Refreshed> Refresh(model::PolicyRunner& policy);

 private:
  std::unique_ptr<ParameterService::StubInterface> stub_;
  const absl::Duration deadline_;
};

}  // namespace ivg::param_server

#endif  // IVG_SERVICES_PARAM_SERVER_CLIENT_ACTOR_PARAMETER_CLIENT_H_
