// The MuJoCo base of an environment: owns the compiled model and its data (RAII), steps the
// physics and turns MuJoCo errors and instabilities into Status. Task-specific behaviour
// lives in subclasses (sawyer_env.h) and the task table (task_table.h).
#ifndef IVG_ENV_MUJOCO_ENV_H_
#define IVG_ENV_MUJOCO_ENV_H_

#include <mujoco/mujoco.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "env/mujoco_handles.h"

namespace ivg::env {

class MujocoEnv {
 public:
  virtual ~MujocoEnv() = default;
  MujocoEnv(const MujocoEnv&) = delete;
  MujocoEnv& operator=(const MujocoEnv&) = delete;

  const mjModel* model() const { return model_.get(); }
  const mjData* data() const { return data_.get(); }

 protected:
  MujocoEnv(MjModelPtr model, MjDataPtr data) : model_(std::move(model)), data_(std::move(data)) {}

  // Compiles `xml` and allocates data for it.
  static absl::StatusOr<std::pair<MjModelPtr, MjDataPtr>> Compile(const std::string& xml,
                                                                  const std::string& source);

  // Steps the physics `n` times. Before each step `before_step` (may be null) may set
  // controls and applied forces. Returns Internal when MuJoCo raises an error or the
  // simulation becomes unstable (MuJoCo then resets the data, so the episode is lost).
  absl::Status StepPhysics(int n, void (*before_step)(const mjModel*, mjData*, void*),
                           void* context);

  // mj_forward with the same error mapping.
  absl::Status Forward();

  mjModel* mutable_model() { return model_.get(); }
  mjData* mutable_data() { return data_.get(); }

 private:
  MjModelPtr model_;
  MjDataPtr data_;
};

}  // namespace ivg::env

#endif  // IVG_ENV_MUJOCO_ENV_H_
