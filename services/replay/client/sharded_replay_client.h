// Client of a sharded replay: actors insert into shard actor_id % num_shards; learners
// sample across all live shards in proportion to their sizes.
//
// A shard that fails a call (UNAVAILABLE, DEADLINE_EXCEEDED of a short info call) is marked
// dead: it is logged once, counted in ivg_replay_client_shard_unavailable_total{shard}, and
// skipped by Sample until `dead_shard_retry` passes, when the next size refresh probes it
// again and picks it up if it answers. Every call carries a deadline. Thread-safe.
#ifndef IVG_SERVICES_REPLAY_CLIENT_SHARDED_REPLAY_CLIENT_H_
#define IVG_SERVICES_REPLAY_CLIENT_SHARDED_REPLAY_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "proto/replay.grpc.pb.h"

namespace ivg::replay {

struct ShardedReplayClientOptions {
  // host:port of each shard; index = shard number.
  std::vector<std::string> addresses;
  int max_message_bytes = 256 << 20;
  // Deadline of inserts and info calls, and of one Sample call (which may block in the
  // shards' rate limiters up to it).
  absl::Duration rpc_deadline = absl::Seconds(10);
  absl::Duration sample_deadline = absl::Seconds(30);
  // Shard sizes used for proportional sampling are refreshed at most this often.
  absl::Duration size_refresh = absl::Milliseconds(500);
  // A dead shard is probed again after this long.
  absl::Duration dead_shard_retry = absl::Seconds(1);
  // Deadline of the ServerInfo probe of each shard.
  absl::Duration probe_deadline = absl::Milliseconds(500);
  // Where the client's metrics go; null = the process's default registry.
  metrics::MetricRegistry* registry = nullptr;
};

class ShardedReplayClient {
 public:
  static absl::StatusOr<std::unique_ptr<ShardedReplayClient>> Create(
      ShardedReplayClientOptions options);

  int num_shards() const { return static_cast<int>(stubs_.size()); }
  // actor_id mod num_shards (non-negative).
  int ShardForActor(int actor_id) const;

  // Inserts into the actor's shard. The shard's error is returned as is (actors retry).
  absl::StatusOr<InsertEpisodeResponse> InsertEpisode(const Episode& episode,
                                                      const std::string& table = "");

  // Samples `batch_size` sequences across the live shards, split by a multinomial draw
  // weighted by each shard's item count (shards below their min_size_to_sample get weight
  // 0 unless all are). When a shard fails mid-call, its share is re-drawn from the others
  // once. `compressed` asks shards for zstd chunks, decoded here (less network traffic).
  absl::StatusOr<SequenceBatch> Sample(int batch_size, const std::string& table = "",
                                       bool compressed = true);

  // One shard's ServerInfo (deadline: rpc_deadline). A reply marks a dead shard live.
  absl::StatusOr<ServerInfoResponse> ShardInfo(int shard);

  // Which shards Sample currently uses (refreshes sizes first).
  std::vector<bool> LiveShards();

 private:
  struct ShardState {
    bool live = true;
    absl::Time retry_at = absl::InfinitePast();
    int64_t items = 0;
    int64_t min_size = 1;
  };

  explicit ShardedReplayClient(ShardedReplayClientOptions options);
  // Probes shards whose sizes are stale or whose retry time passed (with
  // `probe_all_dead`, every dead shard now: used when no shard is live).
  void RefreshShards(bool probe_all_dead = false);
  void MarkLive(int shard, const ServerInfoResponse& info);
  void MarkDead(int shard, const absl::Status& why);
  absl::StatusOr<SampleResponse> SampleShard(int shard, int n, const std::string& table,
                                             bool compressed, absl::Time deadline);

  const ShardedReplayClientOptions options_;
  std::vector<std::unique_ptr<ReplayService::Stub>> stubs_;
  std::vector<metrics::Counter*> unavailable_;
  metrics::Gauge* live_gauge_ = nullptr;

  absl::Mutex mutex_;
  std::vector<ShardState> shards_ ABSL_GUARDED_BY(mutex_);
  absl::Time last_refresh_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  absl::BitGen gen_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_CLIENT_SHARDED_REPLAY_CLIENT_H_
