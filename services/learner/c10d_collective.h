// The learners' gradient averaging through torch.distributed's C++ core (c10d): a TCPStore
// rendezvous (rank 0 hosts it) and ProcessGroupGloo on CPU. With a CUDA build that has
// NCCL (IVG_WITH_NCCL), CUDA tensors go through ProcessGroupNCCL instead.
#ifndef IVG_SERVICES_LEARNER_C10D_COLLECTIVE_H_
#define IVG_SERVICES_LEARNER_C10D_COLLECTIVE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/learner/core/learner_core.h"

namespace ivg::learner {

struct C10dCollectiveOptions {
  std::string host = "127.0.0.1";
  // Rank 0 listens here (0 = any free port, reported through on_listening); others connect.
  int port = 0;
  int rank = 0;
  int world_size = 1;
  absl::Duration timeout = absl::Seconds(60);
  // Called by rank 0 with the bound port before it waits for the other ranks.
  std::function<void(int port)> on_listening;
};

class C10dCollective : public Collective {
 public:
  // Blocks until every rank has joined (or the timeout passes).
  static absl::StatusOr<std::unique_ptr<C10dCollective>> Create(
      const C10dCollectiveOptions& options);
  ~C10dCollective() override;

  int world_size() const override;
  int rank() const override;
  Error AllReduceSum(at::Tensor& tensor) override;
  Error Broadcast(at::Tensor& tensor, int root) override;

 private:
  struct State;
  explicit C10dCollective(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_C10D_COLLECTIVE_H_
