// Collective operations across synchronous learners. The learner process implements them
// with torch.distributed's c10d (services/learner/c10d_collective.h); the core only calls
// them, so it builds without c10d, Gloo or NCCL.
#ifndef IVG_MODEL_CORE_COLLECTIVE_H_
#define IVG_MODEL_CORE_COLLECTIVE_H_

#include <ATen/core/Tensor.h>

#include "model/core/result.h"

namespace ivg::model {

// Every learner must call these in the same order with tensors of the same shape.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int world_size() const = 0;
  virtual int rank() const = 0;
  // In place: `tensor` becomes the element-wise sum over learners.
  virtual Error AllReduceSum(at::Tensor& tensor) = 0;
  // In place: `tensor` becomes rank `root`'s tensor.
  virtual Error Broadcast(at::Tensor& tensor, int root) = 0;
};

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_COLLECTIVE_H_
