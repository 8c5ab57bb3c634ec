#include "services/learner/grpc_parameter_publisher.h"

#include "common/grpc/client_context.h"
#include "common/grpc/grpc_status.h"

namespace ivg::learner {

GrpcParameterPublisher::GrpcParameterPublisher(const std::string& address,
                                               int max_message_bytes, std::string token,
                                               absl::Duration deadline)
    : stub_(ParameterService::NewStub(MakeChannel(address, max_message_bytes))),
      token_(std::move(token)),
      deadline_(deadline) {}

absl::Status GrpcParameterPublisher::Publish(const PublishRequest& request) {
  PublishRequest with_token = request;
  with_token.set_token(token_);
  PublishResponse response;
  auto context = MakeClientContext(deadline_);
  return FromGrpcStatus(stub_->Publish(context.get(), with_token, &response));
}

}  // namespace ivg::learner
