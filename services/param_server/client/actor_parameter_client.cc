#include "services/param_server/client/actor_parameter_client.h"

#include <utility>

#include "common/grpc/client_context.h"
#include "common/grpc/grpc_status.h"

namespace ivg::param_server {
namespace {

// One Fetch of the actor group if newer than `have_version`; up_to_date in the response means
// `have_version` is the newest and no tensors came.
absl::StatusOr<FetchResponse> FetchActorParameters(ParameterService::StubInterface& stub,
                                                   int64_t have_version, absl::Duration deadline) {
  FetchRequest request;
  request.set_have_version(have_version);
  request.set_group(PARAMETER_GROUP_ACTOR);
  FetchResponse response;
  auto context = MakeClientContext(deadline);
  const grpc::Status status = stub.Fetch(context.get(), request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace

std::unique_ptr<ActorParameterClient> ActorParameterClient::Create(
    const ExperimentConfig& config) {
  return std::make_unique<ActorParameterClient>(
      ParameterService::NewStub(MakeChannel(config.cluster().param_server_address(),
                                            config.cluster().max_message_bytes())),
      absl::Milliseconds(config.cluster().rpc_deadline_ms()));
}

ActorParameterClient::ActorParameterClient(std::unique_ptr<ParameterService::StubInterface> stub,
                                           absl::Duration deadline)
    : stub_(std::move(stub)), deadline_(deadline) {}

absl::StatusOr<ActorParameterClient::Refreshed> ActorParameterClient::Refresh(
    model::PolicyRunner& policy) {
  absl::StatusOr<FetchResponse> fetched = FetchActorParameters(*stub_, policy.version(), deadline_);
  if (!fetched.ok()) return fetched.status();
  Refreshed refreshed;
  refreshed.newest_version = fetched->version();
  if (!fetched->up_to_date()) {
    refreshed.load_error = policy.Load(fetched->actor_params(), fetched->version());
    refreshed.loaded = refreshed.load_error.ok();
    if (refreshed.loaded) refreshed.learner_step = fetched->learner_step();
  }
  return refreshed;
}

}  // namespace ivg::param_server
