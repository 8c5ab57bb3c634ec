// RedisProcess and RedisConnection against real redis-server processes.
#include <signal.h>

#include "gtest/gtest.h"
#include "services/replay/redis/redis_connection.h"
#include "services/replay/redis/redis_process.h"
#include "tests/services/replay/replay_test_util.h"

namespace ivg::replay {
namespace {

TEST(RedisProcess, StartsOnLoopbackWithPasswordAndAppendOnly) {
  testing::TempDir dir;
  auto redis = testing::StartRedis(dir.path(), APPENDFSYNC_ALWAYS);
  ASSERT_NE(redis, nullptr);
  auto connection = RedisConnection::Create(redis->connection_options());
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto bind = (*connection)->Command({"CONFIG", "GET", "bind"});
  ASSERT_TRUE(bind.ok());
  ASSERT_EQ(bind->elements.size(), 2u);
  EXPECT_EQ(bind->elements[1].str, "127.0.0.1");
  auto aof = (*connection)->Command({"CONFIG", "GET", "appendonly"});
  ASSERT_TRUE(aof.ok());
  EXPECT_EQ(aof->elements[1].str, "yes");
  auto fsync = (*connection)->Command({"CONFIG", "GET", "appendfsync"});
  ASSERT_TRUE(fsync.ok());
  EXPECT_EQ(fsync->elements[1].str, "always");

  RedisOptions no_password = redis->connection_options();
  no_password.password.clear();
  auto anonymous = RedisConnection::Create(no_password);
  ASSERT_TRUE(anonymous.ok());
  auto denied = (*anonymous)->Command({"GET", "x"});
  ASSERT_TRUE(denied.ok());
  EXPECT_TRUE(denied->is_error());
  EXPECT_NE(denied->str.find("NOAUTH"), std::string::npos) << denied->str;

  RedisOptions wrong = redis->connection_options();
  wrong.password = "wrong";
  EXPECT_TRUE(absl::IsPermissionDenied(RedisConnection::Create(wrong).status()));
}

TEST(RedisProcess, StopTerminatesTheServerAndDataSurvivesARestart) {
  testing::TempDir dir;
  auto redis = testing::StartRedis(dir.path());
  ASSERT_NE(redis, nullptr);
  const pid_t pid = redis->pid();
  const int port = redis->port();
  {
    auto c = RedisConnection::Create(redis->connection_options());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Command({"SET", "k", std::string("v\0w", 3)}).ok());
  }
  redis->Stop();
  EXPECT_NE(kill(pid, 0), 0) << "redis-server still running after Stop()";
  EXPECT_FALSE(RedisConnection::Create(redis->connection_options()).ok());

  redis = testing::StartRedis(dir.path(), APPENDFSYNC_EVERYSEC, port);
  ASSERT_NE(redis, nullptr);
  auto c = RedisConnection::Create(redis->connection_options());
  ASSERT_TRUE(c.ok());
  auto v = (*c)->Command({"GET", "k"});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->str, std::string("v\0w", 3));
}

TEST(RedisProcess, MissingBinaryIsAClearError) {
  testing::TempDir dir;
  RedisProcessOptions options;
  options.binary = dir.path() + "/no-such-redis-server";
  options.data_dir = dir.path();
  options.startup_timeout = absl::Seconds(2);
  auto redis = RedisProcess::Start(options);
  ASSERT_FALSE(redis.ok());
  EXPECT_NE(redis.status().message().find("no-such-redis-server"), std::string::npos)
      << redis.status();
}

TEST(RedisConnection, ReconnectsAfterTheServerRestarts) {
  testing::TempDir dir;
  auto redis = testing::StartRedis(dir.path());
  ASSERT_NE(redis, nullptr);
  const int port = redis->port();
  auto c = RedisConnection::Create(redis->connection_options());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Command({"SET", "k", "1"}).ok());
  redis->Kill();
  EXPECT_TRUE(absl::IsUnavailable((*c)->Command({"GET", "k"}).status()));
  redis = testing::StartRedis(dir.path(), APPENDFSYNC_EVERYSEC, port);
  ASSERT_NE(redis, nullptr);
  auto v = (*c)->Command({"PING"});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->str, "PONG");
  auto pipeline = (*c)->Pipeline({{"MULTI"}, {"SET", "a", "1"}, {"INCR", "a"}, {"EXEC"}});
  ASSERT_TRUE(pipeline.ok());
  ASSERT_EQ(pipeline->back().elements.size(), 2u);
  EXPECT_EQ(pipeline->back().elements[1].integer, 2);
}

TEST(RedisConnection, UnreachableServerIsUnavailable) {
  auto port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  RedisOptions options;
  options.port = *port;
  options.timeout = absl::Milliseconds(200);
  EXPECT_TRUE(absl::IsUnavailable(RedisConnection::Create(options).status()));
}

}  // namespace
}  // namespace ivg::replay
