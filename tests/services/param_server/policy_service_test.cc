// The live policy over real gRPC: parameters come from a real learner core, published through
// the parameter service; observations come from a freshly reset environment.
#include "services/param_server/policy_service.h"

#include "common/config/config_loader.h"
#include "common/grpc/client_context.h"
#include "common/grpc/server_host.h"
#include "env/sawyer_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/config/model_config.h"
#include "model/core/learner_core.h"
#include "services/learner/parameter_publisher.h"
#include "services/param_server/parameter_schema_from_config.h"
#include "services/param_server/parameter_service.h"
#include "tests/testing/learner_publish.h"

namespace ivg::param_server {
namespace {

using ::testing::HasSubstr;

class PolicyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = LoadExperimentConfig(std::string(IVG_SOURCE_DIR) + "/configs/smoke.textproto", {});
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    auto store = ParameterStore::Create("");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    auto policy = PolicyServiceImpl::Create(config_, &registry_);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::move(*policy);
    auto schema = ParameterSchemaFromConfig(config_);
    ASSERT_TRUE(schema.ok()) << schema.status();
    schema_ = std::make_unique<ParameterSchema>(std::move(*schema));
    parameters_ = std::make_unique<ParameterServiceImpl>(
        store_.get(), "token", &registry_,
        [this](std::shared_ptr<const StoredParameters> p) { policy_->Load(*p); }, schema_.get());
    GrpcServerOptions options;
    options.max_message_bytes = 64 << 20;
    auto host = GrpcServerHost::Create(options, {parameters_.get(), policy_.get()});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    auto channel = MakeChannel(host_->address(), 64 << 20);
    policy_stub_ = PolicyService::NewStub(channel);
    params_stub_ = ParameterService::NewStub(channel);

    EnvConfig env_config = config_.env();
    auto environment = env::SawyerEnv::Create(env_config);
    ASSERT_TRUE(environment.ok()) << environment.status();
    auto step = (*environment)->Reset(/*seed=*/3);
    ASSERT_TRUE(step.ok()) << step.status();
    observation_ = step->observation;
  }

  // What a learner with `config` publishes at `version`.
  static PublishRequest LearnerPublish(const ExperimentConfig& config, int64_t version,
                                       bool include_model) {
    return testing::FreshLearnerPublish(config, version, include_model, "token");
  }

  grpc::Status Publish(const PublishRequest& request) {
    PublishResponse response;
    auto context = MakeClientContext(absl::Seconds(10));
    return params_stub_->Publish(context.get(), request, &response);
  }

  void PublishFromLearnerCore(int64_t version) {
    const grpc::Status status = Publish(LearnerPublish(config_, version, false));
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  ActRequest MakeRequest(int frames) {
    ActRequest request;
    request.set_image_height(config_.env().image_size());
    request.set_image_width(config_.env().image_size());
    for (int i = 0; i < frames; ++i) {
      Observation* frame = request.add_history();
      frame->set_image(observation_.pixels.data(), observation_.pixels.size());
      frame->mutable_proprio()->Add(observation_.proprio.begin(), observation_.proprio.end());
    }
    return request;
  }

  grpc::Status Act(const ActRequest& request, ActResponse* response) {
    auto context = MakeClientContext(absl::Seconds(10));
    return policy_stub_->Act(context.get(), request, response);
  }

  ExperimentConfig config_;
  metrics::MetricRegistry registry_;
  std::unique_ptr<ParameterStore> store_;
  std::unique_ptr<PolicyServiceImpl> policy_;
  std::unique_ptr<ParameterSchema> schema_;
  std::unique_ptr<ParameterServiceImpl> parameters_;
  std::unique_ptr<GrpcServerHost> host_;
  std::unique_ptr<PolicyService::Stub> policy_stub_;
  std::unique_ptr<ParameterService::Stub> params_stub_;
  env::Observation observation_;
};

TEST_F(PolicyServiceTest, IsUnavailableUntilParametersArePublished) {
  ActResponse response;
  const grpc::Status status = Act(MakeRequest(3), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(PolicyServiceTest, AnswersWithTheNewestPublishedVersion) {
  PublishFromLearnerCore(/*version=*/1);
  ActResponse response;
  ASSERT_TRUE(Act(MakeRequest(3), &response).ok());
  EXPECT_EQ(response.param_version(), 1);
  EXPECT_EQ(response.action_size(), 5);
  EXPECT_EQ(response.mean_size(), 5);
  EXPECT_EQ(response.log_std_size(), 5);
  EXPECT_TRUE(std::isfinite(response.log_prob()));

  PublishFromLearnerCore(/*version=*/7);
  ASSERT_TRUE(Act(MakeRequest(1), &response).ok());  // Fewer frames: an episode start.
  EXPECT_EQ(response.param_version(), 7);
}

TEST_F(PolicyServiceTest, DeterministicActionIsTheMeanAndSeededSamplesRepeat) {
  PublishFromLearnerCore(1);
  ActRequest request = MakeRequest(3);
  request.set_deterministic(true);
  ActResponse mean_response;
  ASSERT_TRUE(Act(request, &mean_response).ok());
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(mean_response.action(i), mean_response.mean(i));

  request.set_deterministic(false);
  request.set_seed(42);
  ActResponse first, second;
  ASSERT_TRUE(Act(request, &first).ok());
  ASSERT_TRUE(Act(request, &second).ok());
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(first.action(i), second.action(i));
}

TEST_F(PolicyServiceTest, BadInputGetsAClearErrorAndTheServerKeepsServing) {
  PublishFromLearnerCore(1);
  ActResponse response;

  ActRequest wrong_size = MakeRequest(3);
  wrong_size.set_image_height(32);
  grpc::Status status = Act(wrong_size, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("image size 32x64"));

  status = Act(MakeRequest(0), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("history is empty"));

  status = Act(MakeRequest(4), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("expected 1 to 3"));

  ActRequest truncated = MakeRequest(2);
  truncated.mutable_history(1)->mutable_image()->resize(100);
  status = Act(truncated, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("frame 1 image has 100 bytes"));

  ActRequest nan = MakeRequest(2);
  nan.mutable_history(0)->set_proprio(4, std::nanf(""));
  status = Act(nan, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("proprio[4] is not finite"));

  ActRequest short_proprio = MakeRequest(1);
  short_proprio.mutable_history(0)->mutable_proprio()->RemoveLast();
  status = Act(short_proprio, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("16 values; expected 17"));

  ActRequest bad_task = MakeRequest(1);
  bad_task.set_task_id(3);
  status = Act(bad_task, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("task id 3"));

  ASSERT_TRUE(Act(MakeRequest(3), &response).ok());
  EXPECT_EQ(response.param_version(), 1);
}

TEST_F(PolicyServiceTest, AParameterSetForOtherNetworkSizesIsRefusedAndTheOldPolicyStays) {
  PublishFromLearnerCore(1);
  auto bigger = config_;
  bigger.mutable_model()->set_latent_size(config_.model().latent_size() * 2);
  auto options = model::CoreOptionsFromConfig(bigger);
  ASSERT_TRUE(options.ok());
  auto core = model::LearnerCore::Create(*options);
  ASSERT_TRUE(core.ok());
  auto request = learner::MakePublishRequest(*core.value(), 2, false);
  ASSERT_TRUE(request.ok());
  policy_->Load(*request);
  ActResponse response;
  ASSERT_TRUE(Act(MakeRequest(3), &response).ok());
  EXPECT_EQ(response.param_version(), 1);
  EXPECT_NE(registry_.Serialize().find("ivg_policy_load_failures_total 1"), std::string::npos);
}

TEST_F(PolicyServiceTest, TheLearnersPublishFitsTheSchemaWithAndWithoutTheModel) {
  EXPECT_TRUE(Publish(LearnerPublish(config_, 1, /*include_model=*/false)).ok());
  const grpc::Status full = Publish(LearnerPublish(config_, 2, /*include_model=*/true));
  EXPECT_TRUE(full.ok()) << full.error_message();
  EXPECT_EQ(store_->version(), 2);
  EXPECT_GT(store_->Latest()->model_params().tensors_size(), 0);
}

TEST_F(PolicyServiceTest, APublishForOtherNetworksIsRefusedBeforeItIsStored) {
  PublishFromLearnerCore(1);
  ExperimentConfig bigger = config_;
  bigger.mutable_model()->set_latent_size(config_.model().latent_size() * 2);
  grpc::Status status = Publish(LearnerPublish(bigger, 2, /*include_model=*/true));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("the configured networks have"));

  PublishRequest extra = LearnerPublish(config_, 3, false);
  NamedTensor* unknown = extra.mutable_actor_params()->add_tensors();
  *unknown = extra.actor_params().tensors(0);
  unknown->set_name("policy.backdoor");
  status = Publish(extra);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'policy.backdoor' is not a parameter"));

  PublishRequest missing = LearnerPublish(config_, 4, false);
  const std::string dropped = missing.actor_params().tensors(0).name();
  missing.mutable_actor_params()->mutable_tensors()->DeleteSubrange(0, 1);
  status = Publish(missing);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'" + dropped + "' of the configured networks is missing"));

  PublishRequest partial_model = LearnerPublish(config_, 5, true);
  partial_model.mutable_model_params()->mutable_tensors()->RemoveLast();
  EXPECT_EQ(Publish(partial_model).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Nothing of it was stored; actors keep fetching version 1.
  EXPECT_EQ(store_->version(), 1);
  EXPECT_THAT(registry_.Serialize(),
              HasSubstr("ivg_param_server_rejected_publishes_total{reason=\"invalid\"} 4"));
  ActResponse response;
  ASSERT_TRUE(Act(MakeRequest(3), &response).ok());
  EXPECT_EQ(response.param_version(), 1);
}

}  // namespace
}  // namespace ivg::param_server
