// Publishing the actors' parameters (encoder + policy) to the parameter service
// (proto/params.proto). The learner process calls a ParameterPublisher; the gRPC client that
// implements it lives with the parameter server's client code.
#ifndef IVG_SERVICES_LEARNER_PARAMETER_PUBLISHER_H_
#define IVG_SERVICES_LEARNER_PARAMETER_PUBLISHER_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/params.pb.h"

namespace ivg::model {
class LearnerCore;
}  // namespace ivg::model

namespace ivg::learner {

class ParameterPublisher {
 public:
  virtual ~ParameterPublisher() = default;
  // Sends one parameter set; must respect a deadline and return its error (the learner logs
  // and counts failures, then keeps training).
  virtual absl::Status Publish(const PublishRequest& request) = 0;
};

// Encoder + policy parameters as named tensors ("encoder.conv0.weight", ...), float32 CPU
// copies in the core's module order, with the version, step and network fingerprint set.
// With `include_model`, every other network goes into model_params. The token is left empty
// for the publisher to fill.
absl::StatusOr<PublishRequest> MakePublishRequest(const model::LearnerCore& core, int64_t version,
                                                  bool include_model);

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_PARAMETER_PUBLISHER_H_
