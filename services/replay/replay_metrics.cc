#include "services/replay/replay_metrics.h"

namespace ivg::replay {

ReplayMetrics ReplayMetrics::Create(metrics::MetricRegistry* r, const std::string& shard,
                                    const std::string& table) {
  const std::vector<std::string> labels = {"shard", "table"};
  const metrics::LabelValues v = {shard, table};
  ReplayMetrics m;
  m.items = r->AddGauge("ivg_replay_items", "Items (L-step windows) in the table.", labels)
                .WithLabels(v);
  m.chunks = r->AddGauge("ivg_replay_chunks", "Compressed chunks stored.", labels).WithLabels(v);
  m.steps = r->AddGauge("ivg_replay_steps", "Steps stored (each once).", labels).WithLabels(v);
  m.stored_bytes =
      r->AddGauge("ivg_replay_stored_bytes", "Bytes of compressed chunk data stored.", labels)
          .WithLabels(v);
  m.bytes_per_stored_step =
      r->AddGauge("ivg_replay_bytes_per_stored_step",
                  "Compressed chunk bytes per stored step.", labels)
          .WithLabels(v);
  m.inserted_items = r->AddCounter("ivg_replay_inserted_items_total", "Items inserted.", labels)
                         .WithLabels(v);
  m.inserted_steps = r->AddCounter("ivg_replay_inserted_steps_total", "Steps inserted.", labels)
                         .WithLabels(v);
  m.inserted_episodes =
      r->AddCounter("ivg_replay_inserted_episodes_total", "Episodes inserted.", labels)
          .WithLabels(v);
  m.sampled_items = r->AddCounter("ivg_replay_sampled_items_total", "Items sampled.", labels)
                        .WithLabels(v);
  m.evicted_items =
      r->AddCounter("ivg_replay_evicted_items_total",
                    "Items removed by the remover (max_size) or max_times_sampled.", labels)
          .WithLabels(v);
  auto& blocked = r->AddCounter("ivg_replay_rate_limiter_blocked_seconds_total",
                                "Time callers spent blocked by the rate limiter.",
                                {"shard", "table", "op"});
  m.insert_blocked_seconds = blocked.WithLabels({shard, table, "insert"});
  m.sample_blocked_seconds = blocked.WithLabels({shard, table, "sample"});
  m.corrupt_keys = r->AddCounter("ivg_replay_corrupt_keys_skipped_total",
                                 "Redis keys that could not be decoded at start-up.", labels)
                       .WithLabels(v);
  auto& rejected = r->AddCounter("ivg_replay_rejected_requests_total",
                                 "Requests rejected, by reason.", {"shard", "table", "reason"});
  m.rejected_invalid = rejected.WithLabels({shard, table, "invalid_argument"});
  m.rejected_too_large = rejected.WithLabels({shard, table, "resource_exhausted"});
  m.rejected_not_found = rejected.WithLabels({shard, "", "not_found"});
  m.redis_latency = r->AddHistogram("ivg_replay_redis_latency_seconds",
                                    "Latency of Redis round-trips.", {"shard"},
                                    metrics::DefaultLatencyBuckets())
                        .WithLabels({shard});
  return m;
}

}  // namespace ivg::replay
