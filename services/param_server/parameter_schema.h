// What a Publish must carry for the configured networks: every tensor name with its dtype and
// shape, per group. The parameter server checks each Publish against it before storing, so a
// set that no actor or policy service could load (a missing, extra or reshaped tensor: a
// learner with another model config, or a hostile client) is refused whole instead of being
// stored, fetched by every actor and refused by each of them. LibTorch-free: the schema is
// built from the networks by ParameterSchemaFromConfig (policy service library).
#ifndef IVG_SERVICES_PARAM_SERVER_PARAMETER_SCHEMA_H_
#define IVG_SERVICES_PARAM_SERVER_PARAMETER_SCHEMA_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "proto/params.pb.h"
#include "proto/tensor.pb.h"

namespace ivg::param_server {

struct TensorSpec {
  DType dtype = DTYPE_FLOAT32;
  std::vector<int64_t> shape;
};

class ParameterSchema {
 public:
  using Group = std::map<std::string, TensorSpec>;

  // `actor`: the tensors every Publish carries (encoder.* and policy.*); `model`: the rest of
  // the model, which a Publish carries all of or none of.
  ParameterSchema(Group actor, Group model);

  // OK when actor_params holds exactly the actor tensors and model_params is empty or holds
  // exactly the model tensors, each with its dtype and shape; otherwise the error names the
  // first tensor that is missing, unknown or of the wrong dtype or shape.
  absl::Status Check(const PublishRequest& request) const;

  // Serialized size of a Publish with both groups (float32 data plus names and framing):
  // what the server's receive limit is sized from.
  int64_t FullPublishBytes() const;

 private:
  Group actor_;
  Group model_;
};

}  // namespace ivg::param_server

#endif  // IVG_SERVICES_PARAM_SERVER_PARAMETER_SCHEMA_H_
