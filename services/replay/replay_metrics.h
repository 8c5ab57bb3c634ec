// The replay server's Prometheus series (names ivg_replay_*), labelled by shard and table.
// Looked up once; the pointers stay valid for the registry's lifetime.
#ifndef IVG_SERVICES_REPLAY_REPLAY_METRICS_H_
#define IVG_SERVICES_REPLAY_REPLAY_METRICS_H_

#include <string>

#include "common/metrics/metrics.h"

namespace ivg::replay {

struct ReplayMetrics {
  metrics::Gauge* items = nullptr;
  metrics::Gauge* chunks = nullptr;
  metrics::Gauge* steps = nullptr;
  metrics::Gauge* stored_bytes = nullptr;
  metrics::Gauge* bytes_per_stored_step = nullptr;
  metrics::Counter* inserted_items = nullptr;
  metrics::Counter* inserted_steps = nullptr;
  metrics::Counter* inserted_episodes = nullptr;
  metrics::Counter* sampled_items = nullptr;
  metrics::Counter* evicted_items = nullptr;
  metrics::Counter* insert_blocked_seconds = nullptr;
  metrics::Counter* sample_blocked_seconds = nullptr;
  metrics::Counter* corrupt_keys = nullptr;
  metrics::Counter* rejected_invalid = nullptr;
  metrics::Counter* rejected_too_large = nullptr;
  metrics::Counter* rejected_not_found = nullptr;
  metrics::Histogram* redis_latency = nullptr;

  static ReplayMetrics Create(metrics::MetricRegistry* registry, const std::string& shard,
                              const std::string& table);
};

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_REPLAY_METRICS_H_
