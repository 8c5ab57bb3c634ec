// What a learner publishes, for tests that need a parameter server holding real parameters:
// a fresh learner core built from a config, its parameters as a PublishRequest, and the
// Publish call over gRPC with a deadline. Shared by the parameter-server, policy-service,
// actor and evaluator tests (the latter two through loopback_peers.h).
#ifndef IVG_TESTS_TESTING_LEARNER_PUBLISH_H_
#define IVG_TESTS_TESTING_LEARNER_PUBLISH_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "common/grpc/client_context.h"
#include "gtest/gtest.h"
#include "model/config/model_config.h"
#include "model/core/learner_core.h"
#include "proto/params.grpc.pb.h"
#include "services/learner/parameter_publisher.h"

namespace ivg::testing {

// The PublishRequest of a fresh learner core for `config` at `version`, carrying `token`.
inline PublishRequest FreshLearnerPublish(const ExperimentConfig& config, int64_t version,
                                          bool include_model, const std::string& token) {
  auto options = model::CoreOptionsFromConfig(config);
  EXPECT_TRUE(options.ok()) << options.status();
  if (!options.ok()) return {};
  auto core = model::LearnerCore::Create(*options);
  EXPECT_TRUE(core.ok()) << core.error();
  if (!core.ok()) return {};
  auto request = learner::MakePublishRequest(*core.value(), version, include_model);
  EXPECT_TRUE(request.ok()) << request.status();
  if (!request.ok()) return {};
  request->set_token(token);
  return *request;
}

// `request` sent to the parameter server at `address` (10 s deadline).
inline grpc::Status PublishOverGrpc(const std::string& address, const PublishRequest& request) {
  auto stub = ParameterService::NewStub(MakeChannel(address, 64 << 20));
  PublishResponse response;
  auto context = MakeClientContext(absl::Seconds(10));
  return stub->Publish(context.get(), request, &response);
}

}  // namespace ivg::testing

#endif  // IVG_TESTS_TESTING_LEARNER_PUBLISH_H_
