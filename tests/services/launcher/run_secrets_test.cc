#include "services/launcher/run_secrets.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
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

TEST(RunSecrets, TheConfigFileIsReadableByItsOwnerOnly) {
  const std::string path = ::testing::TempDir() + "/run_secrets_test_config.textproto";
  {
    std::ofstream existing(path);  // An existing, world-readable file is made owner-only.
    existing << "old";
  }
  chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteOwnerOnlyFile(path, "name: \"x\"\n").ok());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "name: \"x\"\n");
  std::remove(path.c_str());
}

TEST(RunSecrets, AnUnwritablePathIsAClearError) {
  const absl::Status status = WriteOwnerOnlyFile("/nonexistent-dir/config.textproto", "x");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/nonexistent-dir/config.textproto"), std::string::npos);
}

}  // namespace
}  // namespace ivg::launcher
