// Shared helpers of the replay tests: temporary directories, a real redis-server on an
// ephemeral loopback port, Redis key counts.
#ifndef IVG_TESTS_SERVICES_REPLAY_REPLAY_TEST_UTIL_H_
#define IVG_TESTS_SERVICES_REPLAY_REPLAY_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "services/replay/redis/redis_connection.h"
#include "services/replay/redis/redis_process.h"

namespace ivg::replay::testing {

// A fresh directory under TMPDIR, removed when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ivg_replay_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `binary` empty = the redis-server RedisProcess resolves (a test may pass a wrapper script).
inline std::unique_ptr<RedisProcess> StartRedis(const std::string& dir,
                                                AppendFsync fsync = APPENDFSYNC_EVERYSEC,
                                                int port = 0, const std::string& binary = "") {
  RedisProcessOptions options;
  options.binary = binary;
  options.data_dir = dir;
  options.appendfsync = fsync;
  options.port = port;
  options.password = "test-password";
  auto process = RedisProcess::Start(options);
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

inline int64_t RedisKeyCount(RedisConnection* connection) {
  auto reply = connection->Command({"DBSIZE"});
  EXPECT_TRUE(reply.ok()) << reply.status();
  return reply.ok() ? reply->integer : -1;
}

}  // namespace ivg::replay::testing

#endif  // IVG_TESTS_SERVICES_REPLAY_REPLAY_TEST_UTIL_H_
