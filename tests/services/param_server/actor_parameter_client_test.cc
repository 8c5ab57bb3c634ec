// The acting processes' parameter client against a real parameter server on loopback:
// nothing before the first publish, a load when a newer version exists, an up-to-date answer
// after, a refused parameter set kept apart from a failed call, and a dead server.
#include "services/param_server/client/actor_parameter_client.h"

#include "common/config/config_loader.h"
#include "common/grpc/client_context.h"
#include "common/grpc/server_host.h"
#include "gtest/gtest.h"
#include "services/param_server/parameter_service.h"
#include "tests/testing/learner_publish.h"

namespace ivg::param_server {
namespace {

class ActorParameterClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = LoadExperimentConfig(std::string(IVG_SOURCE_DIR) + "/configs/smoke.textproto", {});
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    auto store = ParameterStore::Create("");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    // No schema: the server stores what it is sent, so the client's own check is what a
    // mismatched parameter set meets.
    service_ = std::make_unique<ParameterServiceImpl>(store_.get(), "token", &registry_);
    GrpcServerOptions options;
    options.max_message_bytes = 64 << 20;
    auto host = GrpcServerHost::Create(options, {service_.get()});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    config_.mutable_cluster()->set_param_server_address(host_->address());
    auto policy = model::PolicyRunner::Create(config_, /*threads=*/1);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::move(*policy);
  }

  // Publishes what a learner with `config` at `version` sends.
  void Publish(const ExperimentConfig& config, int64_t version) {
    const grpc::Status status = testing::PublishOverGrpc(
        host_->address(), testing::FreshLearnerPublish(config, version, false, "token"));
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  ExperimentConfig config_;
  metrics::MetricRegistry registry_;
  std::unique_ptr<ParameterStore> store_;
  std::unique_ptr<ParameterServiceImpl> service_;
  std::unique_ptr<GrpcServerHost> host_;
  std::unique_ptr<model::PolicyRunner> policy_;
};

TEST_F(ActorParameterClientTest, LoadsANewerVersionOnceThenAnswersUpToDate) {
  auto client = ActorParameterClient::Create(config_);
  auto before = client->Refresh(*policy_);
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(policy_->version(), -1);

  Publish(config_, 3);
  auto first = client->Refresh(*policy_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->loaded);
  EXPECT_TRUE(first->load_error.ok());
  EXPECT_EQ(first->newest_version, 3);
  EXPECT_EQ(first->learner_step, 0);  // a fresh learner core's step
  EXPECT_EQ(policy_->version(), 3);

  auto again = client->Refresh(*policy_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->loaded);
  EXPECT_EQ(again->newest_version, 3);
  EXPECT_EQ(again->learner_step, -1);
}

TEST_F(ActorParameterClientTest, ARefusedParameterSetIsNotACallErrorAndThePolicyKeepsItsOwn) {
  Publish(config_, 1);
  auto client = ActorParameterClient::Create(config_);
  ASSERT_TRUE(client->Refresh(*policy_).ok());
  ExperimentConfig bigger = config_;
  bigger.mutable_model()->set_latent_size(config_.model().latent_size() * 2);
  Publish(bigger, 2);
  auto refreshed = client->Refresh(*policy_);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_FALSE(refreshed->loaded);
  EXPECT_FALSE(refreshed->load_error.ok());
  EXPECT_EQ(refreshed->newest_version, 2);
  EXPECT_EQ(policy_->version(), 1);
}

TEST_F(ActorParameterClientTest, ADeadServerIsACallErrorAndThePolicyStaysUnloaded) {
  const std::string address = host_->address();
  host_.reset();  // nothing listens there any more
  ActorParameterClient client(ParameterService::NewStub(MakeChannel(address, 64 << 20)),
                              absl::Milliseconds(500));
  auto refreshed = client.Refresh(*policy_);
  ASSERT_FALSE(refreshed.ok());
  EXPECT_TRUE(refreshed.status().code() == absl::StatusCode::kUnavailable ||
              refreshed.status().code() == absl::StatusCode::kDeadlineExceeded)
      << refreshed.status();
  EXPECT_EQ(policy_->version(), -1);
}

}  // namespace
}  // namespace ivg::param_server
