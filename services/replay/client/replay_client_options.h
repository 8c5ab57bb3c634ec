// The replay client options every process derives alike from its config: the shards'
// addresses, the cluster's message limit and deadlines. Actors, the evaluator and the learners
// connect with it, so none of them can point at other shards or wait with another deadline.
// (Apart from sharded_replay_client.h, which stays free of the config proto.)
#ifndef IVG_SERVICES_REPLAY_CLIENT_REPLAY_CLIENT_OPTIONS_H_
#define IVG_SERVICES_REPLAY_CLIENT_REPLAY_CLIENT_OPTIONS_H_

#include "common/metrics/metrics.h"
#include "proto/config.pb.h"
#include "services/replay/client/sharded_replay_client.h"

namespace ivg::replay {

// replay.shard_addresses, cluster.max_message_bytes, cluster.rpc_deadline_ms and
// cluster.sample_deadline_ms; metrics into `registry` (null: the process's default).
ShardedReplayClientOptions ReplayClientOptionsFromConfig(const ExperimentConfig& config,
                                                         metrics::MetricRegistry* registry);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_CLIENT_REPLAY_CLIENT_OPTIONS_H_
