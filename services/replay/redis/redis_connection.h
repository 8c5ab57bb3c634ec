// A RAII connection to one Redis server (hiredis), and a small pool of them.
//
// hiredis contexts are not thread-safe: a RedisConnection is used by one thread at a time
// (RedisConnectionPool hands them out). Every command has the configured timeout; a
// connection that failed (I/O error, timeout, server restart) reconnects, re-authenticates
// and retries the command once on its next use, so a restarted Redis is picked up without
// restarting the replay server. Replies are copied into RedisReply values so no hiredis
// object outlives the call.
#ifndef IVG_SERVICES_REPLAY_REDIS_REDIS_CONNECTION_H_
#define IVG_SERVICES_REPLAY_REDIS_REDIS_CONNECTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct redisContext;

namespace ivg::replay {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // Sent with AUTH after connecting when not empty.
  std::string password;
  // Connect timeout and per-command timeout.
  absl::Duration timeout = absl::Seconds(5);
  // How long RedisConnectionPool::Acquire waits for a free connection before it gives up
  // with UNAVAILABLE (every connection busy: Redis is slow or the pool is too small), so a
  // gRPC handler never blocks without bound behind the others.
  absl::Duration acquire_timeout = absl::Seconds(10);
};

// One reply, owned. Redis errors inside a MULTI/EXEC arrive as kError elements.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

using RedisCommand = std::vector<std::string>;

class RedisConnection {
 public:
  // Connects and authenticates; UNAVAILABLE when the server cannot be reached,
  // PERMISSION_DENIED when AUTH fails.
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Create(RedisOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Runs one command. A Redis error reply is returned as a kError reply, not a Status
  // (callers decide); a transport failure is UNAVAILABLE (after one reconnect attempt).
  absl::StatusOr<RedisReply> Command(const RedisCommand& argv);

  // Sends all commands in one write and reads all replies (one round-trip). Not atomic by
  // itself: wrap the commands in MULTI ... EXEC for that. Not retried after a transport
  // failure part-way (the caller cannot know which commands ran), except when the
  // connection was already known broken before sending.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& commands);

  // Optional observer of each round-trip's latency (seconds), e.g. a metrics histogram.
  void set_latency_observer(std::function<void(double)> observer) {
    latency_observer_ = std::move(observer);
  }

  const RedisOptions& options() const { return options_; }

 private:
  explicit RedisConnection(RedisOptions options) : options_(std::move(options)) {}
  absl::Status Connect();
  void Disconnect();

  const RedisOptions options_;
  redisContext* context_ = nullptr;  // Owned; null while disconnected.
  std::function<void(double)> latency_observer_;
};

// A fixed set of connections shared by threads. Acquire() waits until one is free, up to
// RedisOptions::acquire_timeout.
class RedisConnectionPool {
 public:
  static absl::StatusOr<std::unique_ptr<RedisConnectionPool>> Create(
      RedisOptions options, int size, std::function<void(double)> latency_observer = nullptr);

  // Returns the connection to the pool when destroyed. Must not outlive the pool.
  class Lease {
   public:
    Lease(RedisConnectionPool* pool, RedisConnection* connection)
        : pool_(pool), connection_(connection) {}
    ~Lease() {
      if (connection_ != nullptr) pool_->Release(connection_);
    }
    Lease(Lease&& other) noexcept : pool_(other.pool_), connection_(other.connection_) {
      other.connection_ = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    RedisConnection* operator->() const { return connection_; }
    RedisConnection& operator*() const { return *connection_; }

   private:
    RedisConnectionPool* pool_;
    RedisConnection* connection_;
  };

  // UNAVAILABLE when no connection came free within acquire_timeout.
  absl::StatusOr<Lease> Acquire();

 private:
  explicit RedisConnectionPool(absl::Duration acquire_timeout)
      : acquire_timeout_(acquire_timeout) {}
  void Release(RedisConnection* connection);

  const absl::Duration acquire_timeout_;
  std::vector<std::unique_ptr<RedisConnection>> connections_;
  absl::Mutex mutex_;
  std::vector<RedisConnection*> free_ ABSL_GUARDED_BY(mutex_);
};

// Convenience: an error Status from a kError reply, naming `what`.
absl::Status RedisReplyError(const RedisReply& reply, const std::string& what);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_REDIS_REDIS_CONNECTION_H_
