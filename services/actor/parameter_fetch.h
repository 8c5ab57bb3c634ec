// The one call actors and the evaluator make to the parameter server: the actor group
// (encoder + policy) if newer than what they hold, with the cluster's deadline.
#ifndef IVG_SERVICES_ACTOR_PARAMETER_FETCH_H_
#define IVG_SERVICES_ACTOR_PARAMETER_FETCH_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/params.grpc.pb.h"

namespace ivg::actor {

// NOT_FOUND before the first publish; other errors are the call's (UNAVAILABLE, deadline).
// up_to_date in the response means `have_version` is the newest and no tensors came.
absl::StatusOr<FetchResponse> FetchActorParameters(ParameterService::StubInterface& stub,
                                                   int64_t have_version, absl::Duration deadline);

}  // namespace ivg::actor

#endif  // IVG_SERVICES_ACTOR_PARAMETER_FETCH_H_
