// Client-call helpers: every call the project makes carries a deadline.
#ifndef IVG_COMMON_GRPC_CLIENT_CONTEXT_H_
#define IVG_COMMON_GRPC_CLIENT_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace ivg {

// A ClientContext whose deadline is `timeout` from now. There is deliberately no overload
// without a timeout.
std::unique_ptr<grpc::ClientContext> MakeClientContext(absl::Duration timeout);

// An insecure channel (the cluster runs on loopback or a private network) whose send and
// receive limits are `max_message_bytes`: parameter sets exceed gRPC's 4 MB default.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int max_message_bytes);

}  // namespace ivg

#endif  // IVG_COMMON_GRPC_CLIENT_CONTEXT_H_
