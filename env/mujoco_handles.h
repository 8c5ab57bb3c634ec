// RAII for MuJoCo handles and the bridge from MuJoCo's global error/warning callbacks to
// absl::Status.
//
// MuJoCo reports errors through mju_user_error (which must not return) and warnings through
// mju_user_warning. InstallMujocoHandlers() (idempotent, thread-safe) installs handlers that
// throw MujocoError for errors, so that the calling module can catch it at its edge and
// return a Status (the C library is compiled with unwind tables), and record warnings in a
// process-wide log that tests and the environment inspect.
#ifndef IVG_ENV_MUJOCO_HANDLES_H_
#define IVG_ENV_MUJOCO_HANDLES_H_

#include <mujoco/mujoco.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ivg::env {

struct MjModelDeleter {
  void operator()(mjModel* m) const { mj_deleteModel(m); }
};
struct MjDataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};
using MjModelPtr = std::unique_ptr<mjModel, MjModelDeleter>;
using MjDataPtr = std::unique_ptr<mjData, MjDataDeleter>;

// Thrown by the installed mju_user_error handler; never escapes this module's public API.
class MujocoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Installs the error and warning handlers once per process.
void InstallMujocoHandlers();

// Warnings recorded since process start (or the last ClearMujocoWarnings()).
int MujocoWarningCount();
std::vector<std::string> MujocoWarnings();
void ClearMujocoWarnings();

// Compiles MJCF text (loaded through an in-memory VFS, no temp files). Errors of the XML
// parser or compiler come back as InvalidArgument naming `source`.
absl::StatusOr<MjModelPtr> LoadModelFromXmlString(const std::string& xml,
                                                  const std::string& source);

}  // namespace ivg::env

#endif  // IVG_ENV_MUJOCO_HANDLES_H_
