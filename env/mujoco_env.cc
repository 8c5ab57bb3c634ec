#include "env/mujoco_env.h"

#include "absl/strings/str_cat.h"

namespace ivg::env {

absl::StatusOr<std::pair<MjModelPtr, MjDataPtr>> MujocoEnv::Compile(const std::string& xml,
                                                                    const std::string& source) {
  absl::StatusOr<MjModelPtr> model = LoadModelFromXmlString(xml, source);
  if (!model.ok()) return model.status();
  MjDataPtr data;
  try {
    data.reset(mj_makeData(model->get()));
  } catch (const MujocoError& e) {
    return absl::InternalError(absl::StrCat("allocating mjData for ", source, ": ", e.what()));
  }
  if (data == nullptr) return absl::InternalError("mj_makeData failed for " + source);
  return std::make_pair(std::move(*model), std::move(data));
}

absl::Status MujocoEnv::StepPhysics(int n, void (*before_step)(const mjModel*, mjData*, void*),
                                    void* context) {
  mjData* d = data_.get();
  const int unstable_before = d->warning[mjWARN_BADQACC].number;
  try {
    for (int i = 0; i < n; ++i) {
      if (before_step != nullptr) before_step(model_.get(), d, context);
      mj_step(model_.get(), d);
    }
  } catch (const MujocoError& e) {
    return absl::InternalError(absl::StrCat("physics step: ", e.what()));
  }
  if (d->warning[mjWARN_BADQACC].number != unstable_before) {
    return absl::InternalError(
        absl::StrCat("the simulation became unstable (bad qacc) at time ", d->time,
                     "; MuJoCo reset the state, the episode must be restarted"));
  }
  return absl::OkStatus();
}

absl::Status MujocoEnv::Forward() {
  try {
    mj_forward(model_.get(), data_.get());
  } catch (const MujocoError& e) {
    return absl::InternalError(absl::StrCat("mj_forward: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace ivg::env
