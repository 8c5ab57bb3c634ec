#include "services/launcher/run_secrets.h"

#include <string>

#include "gtest/gtest.h"

namespace ivg::launcher {
namespace {

TEST(RunSecrets, DefaultSecretsAreReplacedByFreshRandomOnes) {
  ExperimentConfig first, second;
  ASSERT_TRUE(AssignRunSecrets(&first).ok());
  ASSERT_TRUE(AssignRunSecrets(&second).ok());
  const ExperimentConfig defaults;
  for (const ExperimentConfig* config : {&first, &second}) {
    EXPECT_NE(config->cluster().publish_token(), defaults.cluster().publish_token());
    EXPECT_NE(config->replay().redis_password(), defaults.replay().redis_password());
    EXPECT_EQ(config->cluster().publish_token().size(), 48u);  // 24 random bytes, hex
    EXPECT_EQ(config->cluster().publish_token().find_first_not_of("0123456789abcdef"),
              std::string::npos);
  }
  EXPECT_NE(first.cluster().publish_token(), second.cluster().publish_token());
  EXPECT_NE(first.replay().redis_password(), second.replay().redis_password());
  EXPECT_NE(first.cluster().publish_token(), first.replay().redis_password());
}

TEST(RunSecrets, SecretsTheUserSetAreKept) {
  ExperimentConfig config;
  config.mutable_cluster()->set_publish_token("from-the-user");
  config.mutable_replay()->set_redis_password("also-from-the-user");
  ASSERT_TRUE(AssignRunSecrets(&config).ok());
  EXPECT_EQ(config.cluster().publish_token(), "from-the-user");
  EXPECT_EQ(config.replay().redis_password(), "also-from-the-user");
}

}  // namespace
}  // namespace ivg::launcher
