#include "services/replay/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace ivg::replay {
namespace {

RedisReply CopyReply(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i) {
        out.elements.push_back(CopyReply(reply->element[i]));
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};

void AppendArgv(redisContext* c, const RedisCommand& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data());
}

}  // namespace

absl::Status RedisReplyError(const RedisReply& reply, const std::string& what) {
  return absl::InternalError(absl::StrCat("Redis error for ", what, ": ", reply.str));
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Create(RedisOptions options) {
  std::unique_ptr<RedisConnection> connection(new RedisConnection(std::move(options)));
  absl::Status status = connection->Connect();
  if (!status.ok()) return status;
  return connection;
}

RedisConnection::~RedisConnection() { Disconnect(); }

void RedisConnection::Disconnect() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
}

absl::Status RedisConnection::Connect() {
  Disconnect();
  const timeval tv = absl::ToTimeval(options_.timeout);
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port, tv);
  const std::string where = absl::StrCat("Redis at ", options_.host, ":", options_.port);
  if (c == nullptr) return absl::UnavailableError(absl::StrCat(where, ": cannot allocate"));
  if (c->err != 0) {
    std::string err = c->errstr;
    redisFree(c);
    return absl::UnavailableError(absl::StrCat(where, ": ", err));
  }
  if (redisSetTimeout(c, tv) != REDIS_OK) {
    redisFree(c);
    return absl::UnavailableError(absl::StrCat(where, ": cannot set the command timeout"));
  }
  if (!options_.password.empty()) {
    std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(
        redisCommand(c, "AUTH %b", options_.password.data(), options_.password.size())));
    if (reply == nullptr) {
      std::string err = c->errstr;
      redisFree(c);
      return absl::UnavailableError(absl::StrCat(where, ": AUTH failed: ", err));
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string err(reply->str, reply->len);
      redisFree(c);
      return absl::PermissionDeniedError(absl::StrCat(where, ": AUTH rejected: ", err));
    }
  }
  context_ = c;
  return absl::OkStatus();
}

absl::StatusOr<RedisReply> RedisConnection::Command(const RedisCommand& argv) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (context_ == nullptr) {
      absl::Status status = Connect();
      if (!status.ok()) return status;
    }
    const absl::Time start = absl::Now();
    AppendArgv(context_, argv);
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) == REDIS_OK && raw != nullptr) {
      std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(raw));
      if (latency_observer_) latency_observer_(absl::ToDoubleSeconds(absl::Now() - start));
      return CopyReply(reply.get());
    }
    const std::string err = context_->errstr;
    LOG(WARNING) << "Redis " << options_.host << ":" << options_.port << " command "
                 << (argv.empty() ? "" : argv[0]) << " failed (" << err
                 << "); reconnecting";
    Disconnect();
    if (attempt == 1) {
      return absl::UnavailableError(absl::StrCat("Redis at ", options_.host, ":", options_.port,
                                                 ": ", argv.empty() ? "" : argv[0], ": ", err));
    }
  }
  return absl::UnavailableError("unreachable");
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Pipeline(
    const std::vector<RedisCommand>& commands) {
  if (context_ == nullptr) {
    absl::Status status = Connect();
    if (!status.ok()) return status;
  }
  const absl::Time start = absl::Now();
  for (const RedisCommand& argv : commands) AppendArgv(context_, argv);
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      const std::string err = context_->errstr;
      Disconnect();  // The stream is out of sync; the next use reconnects.
      return absl::UnavailableError(absl::StrCat("Redis at ", options_.host, ":", options_.port,
                                                 ": pipeline failed after ", i, " of ",
                                                 commands.size(), " replies: ", err));
    }
    std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(raw));
    replies.push_back(CopyReply(reply.get()));
  }
  if (latency_observer_) latency_observer_(absl::ToDoubleSeconds(absl::Now() - start));
  return replies;
}

absl::StatusOr<std::unique_ptr<RedisConnectionPool>> RedisConnectionPool::Create(
    RedisOptions options, int size, std::function<void(double)> latency_observer) {
  if (size < 1) return absl::InvalidArgumentError("Redis pool size must be >= 1");
  std::unique_ptr<RedisConnectionPool> pool(new RedisConnectionPool(options.acquire_timeout));
  for (int i = 0; i < size; ++i) {
    auto connection = RedisConnection::Create(options);
    if (!connection.ok()) return connection.status();
    (*connection)->set_latency_observer(latency_observer);
    pool->free_.push_back(connection->get());
    pool->connections_.push_back(*std::move(connection));
  }
  return pool;
}

absl::StatusOr<RedisConnectionPool::Lease> RedisConnectionPool::Acquire() {
  absl::MutexLock lock(&mutex_);
  if (!mutex_.AwaitWithTimeout(
          absl::Condition(
              +[](std::vector<RedisConnection*>* free) { return !free->empty(); }, &free_),
          acquire_timeout_)) {
    return absl::UnavailableError(absl::StrCat(
        "no Redis connection came free within ", absl::FormatDuration(acquire_timeout_), " (all ",
        connections_.size(), " busy: Redis is slow or the replay server's pool is too small)"));
  }
  RedisConnection* connection = free_.back();
  free_.pop_back();
  return Lease(this, connection);
}

void RedisConnectionPool::Release(RedisConnection* connection) {
  absl::MutexLock lock(&mutex_);
  free_.push_back(connection);
}

}  // namespace ivg::replay
