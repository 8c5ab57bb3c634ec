// Starts and owns a real redis-server process for one replay shard (and for tests).
//
// The server binds to 127.0.0.1 only, requires a password, keeps its files in `data_dir`
// and runs with appendonly yes so acknowledged writes survive a Redis restart (with
// appendfsync always, the default, every write is fsynced before the reply; with everysec a
// slow disk can delay the write itself by up to 2 s after the reply: proto/replay.proto). Start() returns once the server answers
// (PING-equivalent INFO whose process_id is the child's, so an older Redis still on the port is
// never mistaken for it); destruction stops it with SIGTERM (Redis then flushes the AOF)
// and waits for it. If the owner dies, even by SIGKILL, Redis gets SIGTERM (PDEATHSIG).
#ifndef IVG_SERVICES_REPLAY_REDIS_REDIS_PROCESS_H_
#define IVG_SERVICES_REPLAY_REDIS_REDIS_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "services/replay/redis/redis_connection.h"

namespace ivg::replay {

struct RedisProcessOptions {
  // Path of redis-server; empty = $IVG_REDIS_SERVER, else "redis-server" from PATH.
  std::string binary;
  // 0 = pick a free loopback port.
  int port = 0;
  std::string password = "ivg-local-replay";
  // Created if missing; holds the AOF and the server log (redis.log).
  std::string data_dir;
  AppendFsync appendfsync = APPENDFSYNC_ALWAYS;
  // How long Start() waits for the first PING reply.
  absl::Duration startup_timeout = absl::Seconds(10);
  // How long Start() then waits while Redis loads an existing AOF (a restarted shard with
  // 100,000 items holds a few hundred MB).
  absl::Duration loading_timeout = absl::Minutes(10);
};

class RedisProcess {
 public:
  static absl::StatusOr<std::unique_ptr<RedisProcess>> Start(RedisProcessOptions options);
  // Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it.
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const RedisProcessOptions& options() const { return options_; }
  // Connection options for clients of this server.
  RedisOptions connection_options() const;

  // Graceful stop now (idempotent).
  void Stop();
  // SIGKILL without a flush, to test crash recovery (idempotent).
  void Kill();
  // Whether the server has exited on its own (reaps it; Stop() is then a no-op). The
  // replay server polls this: a shard whose Redis died must not go on answering health
  // checks as SERVING.
  bool Exited();

 private:
  RedisProcess(RedisProcessOptions options, pid_t pid, int port)
      : options_(std::move(options)), pid_(pid), port_(port) {}

  const RedisProcessOptions options_;
  pid_t pid_;
  const int port_;
};

// A currently free TCP port on 127.0.0.1 (bind to port 0, read it back, close).
absl::StatusOr<int> PickFreeLoopbackPort();

// Resolves the redis-server binary: `configured` if not empty and not the plain default,
// else $IVG_REDIS_SERVER, else `configured` (looked up in PATH).
std::string ResolveRedisServerBinary(const std::string& configured);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_REDIS_REDIS_PROCESS_H_
