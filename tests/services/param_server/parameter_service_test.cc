// ParameterService over a real gRPC server on an ephemeral loopback port.
#include "services/param_server/parameter_service.h"

#include <cstring>
#include <limits>

#include "common/grpc/client_context.h"
#include "common/grpc/server_host.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg::param_server {
namespace {

using ::testing::HasSubstr;

constexpr int kMaxMessageBytes = 64 << 20;

class ParameterServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ParameterStore::Create("");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    service_ = std::make_unique<ParameterServiceImpl>(
        store_.get(), "learner-token", &registry_,
        [this](std::shared_ptr<const StoredParameters> p) { last_loaded_ = p->version(); });
    GrpcServerOptions options;
    options.max_message_bytes = kMaxMessageBytes;
    auto host = GrpcServerHost::Create(options, {service_.get()});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    stub_ = ParameterService::NewStub(MakeChannel(host_->address(), kMaxMessageBytes));
  }

  PublishRequest Request(int64_t version, size_t float_count) {
    PublishRequest request;
    request.set_token("learner-token");
    request.set_version(version);
    NamedTensor* actor = request.mutable_actor_params()->add_tensors();
    actor->set_name("encoder.w");
    actor->mutable_tensor()->set_dtype(DTYPE_FLOAT32);
    actor->mutable_tensor()->add_shape(static_cast<int64_t>(float_count));
    actor->mutable_tensor()->set_data(std::string(float_count * 4, '\x01'));
    NamedTensor* model = request.mutable_model_params()->add_tensors();
    model->set_name("decoder.w");
    model->mutable_tensor()->set_dtype(DTYPE_UINT8);
    model->mutable_tensor()->add_shape(3);
    model->mutable_tensor()->set_data("abc");
    return request;
  }

  grpc::Status Publish(const PublishRequest& request) {
    PublishResponse response;
    auto context = MakeClientContext(absl::Seconds(10));
    return stub_->Publish(context.get(), request, &response);
  }

  grpc::Status Fetch(int64_t have, ParameterGroup group, FetchResponse* response) {
    FetchRequest request;
    request.set_have_version(have);
    request.set_group(group);
    auto context = MakeClientContext(absl::Seconds(10));
    return stub_->Fetch(context.get(), request, response);
  }

  metrics::MetricRegistry registry_;
  std::unique_ptr<ParameterStore> store_;
  std::unique_ptr<ParameterServiceImpl> service_;
  std::unique_ptr<GrpcServerHost> host_;
  std::unique_ptr<ParameterService::Stub> stub_;
  int64_t last_loaded_ = -1;
};

TEST_F(ParameterServiceTest, FetchBeforeAnyPublishIsNotFound) {
  FetchResponse response;
  EXPECT_EQ(Fetch(-1, PARAMETER_GROUP_ACTOR, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ParameterServiceTest, PublishesAndFetchesASetLargerThanGrpcsDefaultLimit) {
  // 2.5 M floats = 10 MB, above gRPC's 4 MB default receive limit.
  ASSERT_TRUE(Publish(Request(1, 2'500'000)).ok());
  EXPECT_EQ(last_loaded_, 1);
  FetchResponse response;
  ASSERT_TRUE(Fetch(-1, PARAMETER_GROUP_ACTOR, &response).ok());
  EXPECT_FALSE(response.up_to_date());
  EXPECT_EQ(response.version(), 1);
  ASSERT_EQ(response.actor_params().tensors_size(), 1);
  EXPECT_EQ(response.actor_params().tensors(0).tensor().data().size(), 10'000'000u);
  // Actors get only what they need.
  EXPECT_EQ(response.model_params().tensors_size(), 0);
}

TEST_F(ParameterServiceTest, FetchWithTheCurrentVersionSendsNothing) {
  ASSERT_TRUE(Publish(Request(4, 16)).ok());
  FetchResponse response;
  ASSERT_TRUE(Fetch(4, PARAMETER_GROUP_ACTOR, &response).ok());
  EXPECT_TRUE(response.up_to_date());
  EXPECT_EQ(response.version(), 4);
  EXPECT_EQ(response.actor_params().tensors_size(), 0);
}

TEST_F(ParameterServiceTest, FullGroupIncludesTheModel) {
  ASSERT_TRUE(Publish(Request(2, 16)).ok());
  FetchResponse response;
  ASSERT_TRUE(Fetch(-1, PARAMETER_GROUP_FULL, &response).ok());
  EXPECT_EQ(response.model_params().tensors_size(), 1);
}

TEST_F(ParameterServiceTest, UnauthenticatedPublishIsRefusedAndChangesNothing) {
  ASSERT_TRUE(Publish(Request(1, 16)).ok());
  PublishRequest forged = Request(9, 16);
  forged.set_token("learner-tokem");
  const grpc::Status status = Publish(forged);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  forged.clear_token();
  EXPECT_EQ(Publish(forged).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->version(), 1);
  EXPECT_THAT(registry_.Serialize(),
              HasSubstr("ivg_param_server_rejected_publishes_total{reason=\"unauthenticated\"} 2"));
}

TEST_F(ParameterServiceTest, MalformedTensorsAreRejectedWithTheirName) {
  PublishRequest bad = Request(1, 16);
  bad.mutable_actor_params()->mutable_tensors(0)->mutable_tensor()->mutable_data()->resize(7);
  const grpc::Status status = Publish(bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("encoder.w"));
  EXPECT_EQ(store_->version(), -1);
  // The server keeps serving.
  EXPECT_TRUE(Publish(Request(1, 16)).ok());
}

TEST_F(ParameterServiceTest, NonFiniteParametersAreRejectedAndTheOldSetStays) {
  ASSERT_TRUE(Publish(Request(1, 16)).ok());
  PublishRequest bad = Request(2, 16);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(bad.mutable_actor_params()->mutable_tensors(0)->mutable_tensor()->mutable_data()
                      ->data() + 4 * 5,
              &nan, sizeof(nan));
  const grpc::Status status = Publish(bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("encoder.w"));
  EXPECT_THAT(status.error_message(), HasSubstr("element 5 is not finite"));
  EXPECT_EQ(store_->version(), 1);
}

TEST_F(ParameterServiceTest, DuplicateTensorNamesAreRejected) {
  PublishRequest bad = Request(1, 16);
  *bad.mutable_actor_params()->add_tensors() = bad.actor_params().tensors(0);
  const grpc::Status status = Publish(bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'encoder.w' appears more than once"));
  EXPECT_EQ(store_->version(), -1);
}

TEST_F(ParameterServiceTest, StaleVersionIsFailedPrecondition) {
  ASSERT_TRUE(Publish(Request(5, 16)).ok());
  EXPECT_EQ(Publish(Request(5, 16)).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ParameterServiceTest, AVersionBeyondTwoToThe53IsRefusedAndDoesNotBlockLaterOnes) {
  // Stored, INT64_MAX would refuse every later publish as stale, across restarts.
  const grpc::Status status = Publish(Request(std::numeric_limits<int64_t>::max(), 16));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("outside [0, 2^53]"));
  EXPECT_EQ(store_->version(), -1);
  PublishRequest negative_step = Request(1, 16);
  negative_step.set_learner_step(-4);
  EXPECT_THAT(Publish(negative_step).error_message(), HasSubstr("learner_step -4"));
  EXPECT_TRUE(Publish(Request(1, 16)).ok());
  EXPECT_EQ(store_->version(), 1);
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace ivg::param_server
