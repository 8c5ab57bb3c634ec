// ivg_replay_server: one replay shard (gRPC front + its own redis-server).
//
//   ivg_replay_server --config=configs/x.textproto --shard=0 [--address=HOST:PORT]
//                     [--metrics_address=HOST:PORT] [--start_redis=true|false] [--redis_port=0]
//                     [--redis_data_dir=DIR] [--set replay.max_size=1000 ...]
//
// Start-up, flags shared by every service, the ready line and the exit codes are
// common/process/service_main.h's. Ready line:
//   ivg_replay_server ready: grpc=HOST:PORT metrics=HOST:PORT shard=S redis=PORT table=T items=N
// It stops gracefully on SIGINT/SIGTERM: samplers blocked in the rate limiter get CANCELLED,
// the gRPC server drains, then its redis-server is stopped (SIGTERM: the AOF is flushed).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/grpc/server_host.h"
#include "common/process/service_main.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "services/replay/redis/redis_process.h"
#include "services/replay/replay_service.h"
#include "services/replay/table_from_config.h"

ABSL_FLAG(int, shard, 0, "Shard index of this server.");
ABSL_FLAG(std::string, start_redis, "",
          "true: start our own redis-server; false: use replay.redis_host/port; empty = config.");
ABSL_FLAG(int, redis_port, -1, "Redis port; -1 = replay.redis_port (0 = free, started Redis).");
ABSL_FLAG(std::string, redis_data_dir, "",
          "Data dir of the started redis-server; empty = replay.redis_data_dir/shard-<k>.");

int main(int argc, char** argv) {
  ivg::ServiceMain process = ivg::ServiceMain::Init(
      {/*name=*/"ivg_replay_server", /*usage=*/"Serves one replay shard backed by its Redis.",
       /*serves_grpc=*/true},
      argc, argv);
  const ivg::ExperimentConfig* config = &process.config();
  const ivg::ReplayConfig& rc = config->replay();
  const int shard = absl::GetFlag(FLAGS_shard);
  LOG(INFO) << "profile '" << config->profile() << "', replay config:\n" << ivg::ConfigToText(rc);

  bool start_redis = rc.start_redis();
  const std::string start_flag = absl::GetFlag(FLAGS_start_redis);
  if (start_flag == "true" || start_flag == "1") start_redis = true;
  if (start_flag == "false" || start_flag == "0") start_redis = false;
  const int redis_port =
      absl::GetFlag(FLAGS_redis_port) >= 0 ? absl::GetFlag(FLAGS_redis_port) : rc.redis_port();

  std::unique_ptr<ivg::replay::RedisProcess> redis_process;
  ivg::replay::RedisOptions redis_options;
  if (start_redis) {
    ivg::replay::RedisProcessOptions p;
    p.binary = rc.redis_server_binary();
    p.port = redis_port;
    p.password = rc.redis_password();
    p.data_dir = absl::GetFlag(FLAGS_redis_data_dir).empty()
                     ? absl::StrCat(rc.redis_data_dir(), "/shard-", shard)
                     : absl::GetFlag(FLAGS_redis_data_dir);
    p.appendfsync = rc.appendfsync();
    auto started = ivg::replay::RedisProcess::Start(p);
    if (!started.ok()) return process.Fail(started.status(), "cannot start redis-server");
    redis_process = *std::move(started);
    redis_options = redis_process->connection_options();
  } else {
    if (redis_port == 0) {
      return process.BadConfig(absl::InvalidArgumentError("an existing Redis needs --redis_port "
                                                          "or replay.redis_port"),
                               "invalid flags");
    }
    redis_options.host = rc.redis_host();
    redis_options.port = redis_port;
    redis_options.password = rc.redis_password();
  }
  redis_options.timeout = absl::Milliseconds(rc.redis_timeout_ms());

  auto& registry = ivg::metrics::DefaultRegistry();
  ivg::replay::ReplayServiceOptions options;
  options.shard = shard;
  options.table = ivg::replay::TableOptionsFromConfig(*config);
  options.max_request_bytes = rc.max_request_bytes();
  options.max_response_bytes = config->cluster().max_message_bytes();
  ivg::replay::ReplayMetrics metrics =
      ivg::replay::ReplayMetrics::Create(&registry, std::to_string(shard), options.table.name);
  auto pool = ivg::replay::RedisConnectionPool::Create(
      redis_options, rc.redis_connections(),
      [histogram = metrics.redis_latency](double s) { histogram->Observe(s); });
  if (!pool.ok()) return process.Fail(pool.status(), "cannot connect to Redis");

  auto service = ivg::replay::ReplayServiceImpl::Create(options, pool->get(), &registry);
  if (!service.ok()) return process.Fail(service.status(), "cannot open the replay table");

  absl::StatusOr<std::string> address = process.GrpcAddress(
      absl::StrCat(config->cluster().host(), ":", config->cluster().replay_base_port() + shard));
  if (!address.ok()) return process.BadConfig(address.status(), "invalid gRPC address");
  ivg::GrpcServerOptions server_options;
  server_options.address = *address;
  server_options.max_message_bytes = config->cluster().max_message_bytes();
  // The largest valid request is an InsertEpisode of max_request_bytes (the rest are tiny):
  // anything larger is refused by gRPC before it is parsed. The headroom lets DoInsert
  // answer requests just above the limit with its own error, which names the limit.
  server_options.max_receive_bytes = static_cast<int>(std::min<int64_t>(
      config->cluster().max_message_bytes(), rc.max_request_bytes() + (1 << 20)));
  ivg::replay::ReplayServiceImpl* service_ptr = service->get();
  server_options.on_stop.push_back([service_ptr] { service_ptr->Close(); });
  auto host = ivg::GrpcServerHost::Create(server_options, {service->get()});
  if (!host.ok()) return process.Fail(host.status(), "cannot start the gRPC server");

  if (absl::Status s =
          process.StartMetrics(absl::StrCat(config->cluster().host(), ":0"), &registry);
      !s.ok()) {
    return process.Fail(s, "cannot start the metrics server");
  }

  process.SetGrpcAddress((*host)->address());
  process.Ready({{"shard", absl::StrCat(shard)},
                 {"redis", absl::StrCat(redis_options.port)},
                 {"table", options.table.name},
                 {"items", absl::StrCat((*service)->table()->size())}});

  // A shard without its Redis can store nothing: when the redis-server we started dies
  // (kill -9, OOM), stop with an error so the supervisor restarts the whole shard, whose new
  // redis-server recovers the AOF, instead of answering health checks as SERVING.
  bool redis_died = false;
  while (!ivg::WaitForShutdown(absl::Seconds(1))) {
    if (redis_process != nullptr && redis_process->Exited()) {
      redis_died = true;
      break;
    }
  }
  if (redis_died) {
    LOG(ERROR) << "redis-server of replay shard " << shard << " (port " << redis_options.port
               << ") exited; stopping the shard so that it restarts and recovers the AOF";
  }
  LOG(INFO) << "shutting down replay shard " << shard;
  (*host)->Stop(absl::Seconds(5));
  process.StopMetrics();  // Its gauges read the table: stop scraping before it goes.
  service->reset();
  pool->reset();
  redis_process.reset();  // SIGTERM: Redis flushes the AOF and exits.
  LOG(INFO) << "replay shard " << shard << " stopped";
  return redis_died ? ivg::kExitRuntimeError : ivg::kExitClean;
}
