#include "env/mujoco_handles.h"

#include <cstring>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "glog/logging.h"

namespace ivg::env {
namespace {

absl::Mutex warnings_mutex;
std::vector<std::string>* warnings ABSL_GUARDED_BY(warnings_mutex) = nullptr;

void HandleError(const char* message) {
  throw MujocoError(absl::StrCat("MuJoCo error: ", message));
}

void HandleWarning(const char* message) {
  LOG(WARNING) << "MuJoCo warning: " << message;
  absl::MutexLock lock(&warnings_mutex);
  if (warnings == nullptr) warnings = new std::vector<std::string>();
  warnings->push_back(message);
}

// The VFS is ~2 MB of fixed arrays in this MuJoCo version: allocate it on the heap.
struct VfsDeleter {
  void operator()(mjVFS* vfs) const {
    mj_deleteVFS(vfs);
    delete vfs;
  }
};

}  // namespace

void InstallMujocoHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    mju_user_error = &HandleError;
    mju_user_warning = &HandleWarning;
  });
}

int MujocoWarningCount() {
  absl::MutexLock lock(&warnings_mutex);
  return warnings == nullptr ? 0 : static_cast<int>(warnings->size());
}

std::vector<std::string> MujocoWarnings() {
  absl::MutexLock lock(&warnings_mutex);
  return warnings == nullptr ? std::vector<std::string>() : *warnings;
}

void ClearMujocoWarnings() {
  absl::MutexLock lock(&warnings_mutex);
  if (warnings != nullptr) warnings->clear();
}

absl::StatusOr<MjModelPtr> LoadModelFromXmlString(const std::string& xml,
                                                  const std::string& source) {
  InstallMujocoHandlers();
  std::unique_ptr<mjVFS, VfsDeleter> vfs(new mjVFS);
  mj_defaultVFS(vfs.get());
  static constexpr char kFileName[] = "scene.xml";
  if (mj_makeEmptyFileVFS(vfs.get(), kFileName, static_cast<int>(xml.size())) != 0) {
    return absl::InternalError(absl::StrCat("cannot create the in-memory MJCF for ", source));
  }
  const int index = mj_findFileVFS(vfs.get(), kFileName);
  std::memcpy(vfs->filedata[index], xml.data(), xml.size());
  char error[1024] = {0};
  mjModel* model = nullptr;
  try {
    model = mj_loadXML(kFileName, vfs.get(), error, sizeof(error));
  } catch (const MujocoError& e) {
    return absl::InternalError(absl::StrCat("loading the MJCF of ", source, ": ", e.what()));
  }
  if (model == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("MuJoCo cannot compile the MJCF of ", source, ": ", error));
  }
  if (error[0] != '\0') LOG(WARNING) << "MJCF of " << source << ": " << error;
  return MjModelPtr(model);
}

}  // namespace ivg::env
