// Samples learner batches from the sharded replay service (services/replay).
#ifndef IVG_SERVICES_LEARNER_REPLAY_SEQUENCE_SOURCE_H_
#define IVG_SERVICES_LEARNER_REPLAY_SEQUENCE_SOURCE_H_

#include <memory>
#include <string>

#include "services/learner/sequence_source.h"
#include "services/replay/client/sharded_replay_client.h"

namespace ivg::learner {

class ReplaySequenceSource : public SequenceSource {
 public:
  ReplaySequenceSource(std::unique_ptr<replay::ShardedReplayClient> client, std::string table,
                       int sequence_length)
      : client_(std::move(client)), table_(std::move(table)), sequence_length_(sequence_length) {}

  // The replay's contents change under the learner, so a resumed run samples afresh.
  absl::StatusOr<SequenceBatch> Sample(int batch_size) override;

 private:
  std::unique_ptr<replay::ShardedReplayClient> client_;
  std::string table_;
  int sequence_length_;
};

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_REPLAY_SEQUENCE_SOURCE_H_
