// RedisProcess and RedisConnection against real redis-server processes.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

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

TEST(RedisProcess, ThePasswordIsInAnOwnerOnlyFileNotOnTheCommandLine) {
  testing::TempDir dir;
  auto redis = testing::StartRedis(dir.path());
  ASSERT_NE(redis, nullptr);
  const std::string password = redis->connection_options().password;
  ASSERT_FALSE(password.empty());
  std::ifstream cmdline_file("/proc/" + std::to_string(redis->pid()) + "/cmdline");
  const std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)),
                            std::istreambuf_iterator<char>());
  ASSERT_FALSE(cmdline.empty());
  EXPECT_EQ(cmdline.find(password), std::string::npos) << "redis-server's command line shows it";
  struct stat info;
  const std::string secrets = dir.path() + "/ivg-redis-secrets.conf";
  ASSERT_EQ(stat(secrets.c_str(), &info), 0) << secrets;
  EXPECT_EQ(info.st_mode & 0777, 0600);
  // And it is the password Redis requires.
  EXPECT_TRUE(RedisConnection::Create(redis->connection_options()).ok());
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

TEST(RedisConnectionPool, AcquireGivesUpWhenEveryConnectionStaysBusy) {
  testing::TempDir dir;
  auto redis = testing::StartRedis(dir.path());
  ASSERT_NE(redis, nullptr);
  RedisOptions options = redis->connection_options();
  options.acquire_timeout = absl::Milliseconds(200);
  auto pool = RedisConnectionPool::Create(options, /*size=*/1);
  ASSERT_TRUE(pool.ok()) << pool.status();
  {
    absl::StatusOr<RedisConnectionPool::Lease> held = (*pool)->Acquire();
    ASSERT_TRUE(held.ok()) << held.status();
    absl::StatusOr<RedisConnectionPool::Lease> waiting = (*pool)->Acquire();
    EXPECT_TRUE(absl::IsUnavailable(waiting.status())) << waiting.status();
    EXPECT_NE(waiting.status().message().find("all 1 busy"), std::string::npos);
  }
  // The lease went back to the pool when it was destroyed (also after being moved from).
  absl::StatusOr<RedisConnectionPool::Lease> again = (*pool)->Acquire();
  ASSERT_TRUE(again.ok()) << again.status();
  auto pong = (*again)->Command({"PING"});
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->str, "PONG");
}

}  // namespace
}  // namespace ivg::replay
