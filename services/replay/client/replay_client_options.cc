#include "services/replay/client/replay_client_options.h"

namespace ivg::replay {

ShardedReplayClientOptions ReplayClientOptionsFromConfig(const ExperimentConfig& config,
                                                         metrics::MetricRegistry* registry) {
  ShardedReplayClientOptions options;
  options.addresses.assign(config.replay().shard_addresses().begin(),
                           config.replay().shard_addresses().end());
  options.max_message_bytes = config.cluster().max_message_bytes();
  options.rpc_deadline = absl::Milliseconds(config.cluster().rpc_deadline_ms());
  options.sample_deadline = absl::Milliseconds(config.cluster().sample_deadline_ms());
  options.registry = registry;
  return options;
}

}  // namespace ivg::replay
