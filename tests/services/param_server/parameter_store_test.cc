#include "services/param_server/parameter_store.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg::param_server {
namespace {

using ::testing::HasSubstr;

PublishRequest MakeParameters(int64_t version, float fill) {
  PublishRequest request;
  request.set_token("secret");
  request.set_version(version);
  request.set_learner_step(version * 10);
  NamedTensor* named = request.mutable_actor_params()->add_tensors();
  named->set_name("policy.mean.weight");
  named->mutable_tensor()->set_dtype(DTYPE_FLOAT32);
  named->mutable_tensor()->add_shape(2);
  named->mutable_tensor()->set_data(std::string(reinterpret_cast<const char*>(&fill), 4) +
                                    std::string(reinterpret_cast<const char*>(&fill), 4));
  return request;
}

std::string FreshDir(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/param_store_", name);
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(ParameterStore, StartsEmpty) {
  auto store = ParameterStore::Create(FreshDir("empty"));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->version(), -1);
  EXPECT_EQ((*store)->Latest(), nullptr);
}

TEST(ParameterStore, AcceptsOnlyIncreasingVersions) {
  auto store = ParameterStore::Create("");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Publish(MakeParameters(3, 1.0f)).ok());
  auto same = (*store)->Publish(MakeParameters(3, 2.0f));
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(same.status().message(), HasSubstr("not above the stored version 3"));
  EXPECT_FALSE((*store)->Publish(MakeParameters(2, 2.0f)).ok());
  ASSERT_TRUE((*store)->Publish(MakeParameters(4, 2.0f)).ok());
  EXPECT_EQ((*store)->version(), 4);
}

TEST(ParameterStore, NeverKeepsTheToken) {
  auto store = ParameterStore::Create("");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Publish(MakeParameters(1, 1.0f)).ok());
  EXPECT_TRUE((*store)->Latest()->token().empty());
}

TEST(ParameterStore, ARestartedStoreServesTheLastPublishedSet) {
  const std::string dir = FreshDir("restart");
  {
    auto store = ParameterStore::Create(dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Publish(MakeParameters(5, 1.5f)).ok());
    ASSERT_TRUE((*store)->Publish(MakeParameters(6, 2.5f)).ok());
  }
  auto reopened = ParameterStore::Create(dir);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->version(), 6);
  PublishRequest expected = MakeParameters(6, 2.5f);
  expected.clear_token();
  EXPECT_EQ((*reopened)->Latest()->SerializeAsString(), expected.SerializeAsString());
  EXPECT_FALSE(std::filesystem::exists(dir + "/parameters.pb.tmp"));
}

TEST(ParameterStore, CorruptStateFileIsAnErrorNotASilentReset) {
  const std::string dir = FreshDir("corrupt");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/parameters.pb") << "\xff\xff\xff not a protobuf";
  auto store = ParameterStore::Create(dir);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("parameters.pb"));
}

// A state dir written by a run with another model config holds a set no actor can load: the
// store refuses it at startup, naming the file and the tensor, and leaves the file in place.
TEST(ParameterStore, AStoredSetThatDoesNotFitTheConfiguredNetworksIsRefused) {
  const std::string dir = FreshDir("other_config");
  {
    auto store = ParameterStore::Create(dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Publish(MakeParameters(7, 1.0f)).ok());
  }
  auto schema_with_shape = [](int64_t size) {
    TensorSpec spec;
    spec.shape = {size};
    return ParameterSchema({{"policy.mean.weight", spec}}, {});
  };
  const ParameterSchema same = schema_with_shape(2);
  auto fits = ParameterStore::Create(dir, &same);
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ((*fits)->version(), 7);

  const ParameterSchema other = schema_with_shape(3);
  auto refused = ParameterStore::Create(dir, &other);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("parameters.pb"));
  EXPECT_THAT(refused.status().message(), HasSubstr("policy.mean.weight"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/parameters.pb"));
}

}  // namespace
}  // namespace ivg::param_server
