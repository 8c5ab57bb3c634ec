#include "services/actor/parameter_fetch.h"

#include "common/grpc/client_context.h"
#include "common/grpc/grpc_status.h"

namespace ivg::actor {

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

}  // namespace ivg::actor
