// Where learner batches come from. The learner process samples through this interface:
// the replay service (ReplaySequenceSource) in a cluster, an in-process buffer in tests and
// synthetic runs. No LibTorch here.
#ifndef IVG_SERVICES_LEARNER_SEQUENCE_SOURCE_H_
#define IVG_SERVICES_LEARNER_SEQUENCE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/episode.pb.h"

namespace ivg::learner {

class SequenceSource {
 public:
  virtual ~SequenceSource() = default;
  // `batch_size` sequences of the configured length, [B, L, ...] (proto/episode.proto).
  virtual absl::StatusOr<SequenceBatch> Sample(int batch_size) = 0;
  // Sampling state for exact resume ("" when the source cannot be replayed, e.g. a remote
  // replay whose contents change).
  virtual std::string SaveState() const { return ""; }
  virtual absl::Status RestoreState(const std::string& state) { return absl::OkStatus(); }
};

// Holds L-step windows of inserted episodes in memory and samples them uniformly with its
// own seeded generator (whose state is saved in checkpoints). Not thread-safe.
class InMemorySequenceSource : public SequenceSource {
 public:
  InMemorySequenceSource(int sequence_length, uint64_t seed);

  // Splits the episode into non-overlapping windows of L steps (the paper's split).
  absl::Status AddEpisode(const Episode& episode);
  int64_t size() const { return static_cast<int64_t>(windows_.size()); }

  absl::StatusOr<SequenceBatch> Sample(int batch_size) override;
  std::string SaveState() const override;
  absl::Status RestoreState(const std::string& state) override;

 private:
  struct Window {
    std::shared_ptr<const Episode> episode;
    int start;
  };
  int sequence_length_;
  std::mt19937_64 rng_;
  std::vector<Window> windows_;
};

// Episodes with random actions and smooth, learnable images/proprio/rewards, for
// --data=synthetic runs and benchmarks. Deterministic in `seed`.
std::vector<Episode> MakeSyntheticEpisodes(int num_episodes, int steps, int image_size,
                                           int proprio_size, int action_size, int num_tasks,
                                           uint64_t seed);

// Builds the [B, L, ...] batch of `windows` (each: episode + first step).
absl::StatusOr<SequenceBatch> AssembleBatch(
    const std::vector<std::pair<const Episode*, int>>& windows, int sequence_length);

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_SEQUENCE_SOURCE_H_
