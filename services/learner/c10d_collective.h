// The learners' gradient averaging through torch.distributed's C++ core (c10d): a TCPStore
// rendezvous (rank 0 hosts it) and ProcessGroupGloo on CPU. With a CUDA build that has
// NCCL (IVG_WITH_NCCL), CUDA tensors go through ProcessGroupNCCL instead.
#ifndef IVG_SERVICES_LEARNER_C10D_COLLECTIVE_H_
#define IVG_SERVICES_LEARNER_C10D_COLLECTIVE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "model/core/collective.h"
#include "services/learner/c10d_collective_options.h"

namespace ivg::learner {

class C10dCollective : public model::Collective {
 public:
  // Blocks until every rank has joined (or the timeout passes).
  static absl::StatusOr<std::unique_ptr<C10dCollective>> Create(
      const C10dCollectiveOptions& options);
  ~C10dCollective() override;

  int world_size() const override;
  int rank() const override;
  model::Error AllReduceSum(at::Tensor& tensor) override;
  model::Error Broadcast(at::Tensor& tensor, int root) override;

 private:
  struct State;
  explicit C10dCollective(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_C10D_COLLECTIVE_H_
