// gRPC handlers of ReplayService (proto/replay.proto documents every rpc). The service owns
// its tables; Redis and metrics are owned by the caller (main.cc or a test).
#ifndef IVG_SERVICES_REPLAY_REPLAY_SERVICE_H_
#define IVG_SERVICES_REPLAY_REPLAY_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/replay.grpc.pb.h"
#include "services/replay/redis/redis_connection.h"
#include "services/replay/replay_metrics.h"
#include "services/replay/table.h"

namespace ivg::replay {

struct ReplayServiceOptions {
  int shard = 0;
  TableOptions table;
  // Largest accepted InsertEpisode request (serialized bytes).
  int64_t max_request_bytes = 64 << 20;
  // Largest batch_size of one Sample call.
  int32_t max_batch_size = 4096;
  // Largest Sample response (serialized bytes; the server's send limit). A decoded batch that
  // would exceed it is refused before anything is read from Redis or allocated; any other
  // response above it (compressed sequences, whose size is known only once read) is refused
  // with the same error naming its size, instead of gRPC's unnamed send failure.
  int64_t max_response_bytes = 256 << 20;
  // Longest a call waits for the rate limiter when its client set no deadline (or a longer
  // one), so a call without a deadline cannot hold a server thread forever.
  absl::Duration max_blocking = absl::Minutes(2);
};

class ReplayServiceImpl final : public ReplayService::Service {
 public:
  // Rebuilds the table from Redis. `pool` and `registry` must outlive the service.
  static absl::StatusOr<std::unique_ptr<ReplayServiceImpl>> Create(
      ReplayServiceOptions options, RedisConnectionPool* pool, metrics::MetricRegistry* registry);

  grpc::Status InsertEpisode(grpc::ServerContext* context, const InsertEpisodeRequest* request,
                             InsertEpisodeResponse* response) override;
  grpc::Status InsertEpisodeStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<InsertEpisodeResponse, InsertEpisodeRequest>* stream) override;
  grpc::Status Sample(grpc::ServerContext* context, const SampleRequest* request,
                      SampleResponse* response) override;
  grpc::Status ServerInfo(grpc::ServerContext* context, const ServerInfoRequest* request,
                          ServerInfoResponse* response) override;

  // Wakes blocked samplers and inserters (CANCELLED); for GrpcServerHost's on_stop hook.
  void Close() { table_->Close(); }
  Table* table() { return table_.get(); }

 private:
  ReplayServiceImpl(ReplayServiceOptions options, RedisConnectionPool* pool,
                    ReplayMetrics metrics)
      : options_(std::move(options)), pool_(pool), metrics_(metrics) {}

  absl::StatusOr<InsertEpisodeResponse> DoInsert(const InsertEpisodeRequest& request,
                                                 absl::Time deadline);
  // NOT_FOUND unless `name` (empty = default) is this server's table.
  absl::Status CheckTable(const std::string& name);
  // OK, or RESOURCE_EXHAUSTED (response cleared) when the built response exceeds
  // max_response_bytes.
  grpc::Status CheckResponseSize(const SampleRequest& request, SampleResponse* response);

  const ReplayServiceOptions options_;
  RedisConnectionPool* const pool_;
  const ReplayMetrics metrics_;
  std::unique_ptr<Table> table_;
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_REPLAY_SERVICE_H_
