// ParameterPublisher over gRPC to the parameter service (proto/params.proto).
#ifndef IVG_SERVICES_LEARNER_GRPC_PARAMETER_PUBLISHER_H_
#define IVG_SERVICES_LEARNER_GRPC_PARAMETER_PUBLISHER_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "proto/params.grpc.pb.h"
#include "services/learner/parameter_publisher.h"

namespace ivg::learner {

class GrpcParameterPublisher : public ParameterPublisher {
 public:
  GrpcParameterPublisher(const std::string& address, int max_message_bytes, std::string token,
                         absl::Duration deadline);
  // Fills the token and calls Publish with the deadline.
  absl::Status Publish(const PublishRequest& request) override;

 private:
  std::unique_ptr<ParameterService::Stub> stub_;
  std::string token_;
  absl::Duration deadline_;
};

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_GRPC_PARAMETER_PUBLISHER_H_
