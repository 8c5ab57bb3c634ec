#include "services/param_server/parameter_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "glog/logging.h"

namespace ivg::param_server {
namespace {

constexpr char kFileName[] = "parameters.pb";

std::string StatePath(const std::string& state_dir) {
  return absl::StrCat(state_dir, "/", kFileName);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ParameterStore>> ParameterStore::Create(
    const std::string& state_dir, const ParameterSchema* schema) {
  std::shared_ptr<const StoredParameters> loaded;
  if (!state_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(state_dir, error);
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create parameter state dir '", state_dir, "': ", error.message()));
    }
    const std::string path = StatePath(state_dir);
    std::ifstream file(path, std::ios::binary);
    if (file) {
      auto parameters = std::make_shared<StoredParameters>();
      if (!parameters->ParseFromIstream(&file)) {
        return absl::DataLossError(absl::StrCat(
            "parameter file '", path, "' is corrupt; move it away to start without parameters"));
      }
      if (schema != nullptr) {
        if (absl::Status fits = schema->Check(*parameters); !fits.ok()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "parameter file '", path, "' (version ", parameters->version(),
              ") does not fit the configured networks: ", fits.message(),
              "; it was written by a run with another model config: start with another state "
              "dir (or run_dir), or move it away to start without parameters"));
        }
      }
      LOG(INFO) << "loaded parameters version " << parameters->version() << " from " << path;
      loaded = std::move(parameters);
    }
  }
  return std::unique_ptr<ParameterStore>(new ParameterStore(state_dir, std::move(loaded)));
}

ParameterStore::ParameterStore(std::string state_dir,
                               std::shared_ptr<const StoredParameters> loaded)
    : state_dir_(std::move(state_dir)), latest_(std::move(loaded)) {}

absl::StatusOr<int64_t> ParameterStore::Publish(PublishRequest parameters) {
  absl::MutexLock publish_lock(&publish_mutex_);
  const int64_t current = version();
  if (parameters.version() <= current) {
    return absl::FailedPreconditionError(absl::StrCat(
        "published version ", parameters.version(), " is not above the stored version ", current));
  }
  parameters.clear_token();
  auto stored = std::make_shared<const StoredParameters>(std::move(parameters));
  if (!state_dir_.empty()) IVG_RETURN_IF_ERROR(WriteToDisk(*stored));
  absl::MutexLock lock(&mutex_);
  latest_ = stored;
  return latest_->version();
}

std::shared_ptr<const StoredParameters> ParameterStore::Latest() const {
  absl::MutexLock lock(&mutex_);
  return latest_;
}

int64_t ParameterStore::version() const {
  absl::MutexLock lock(&mutex_);
  return latest_ == nullptr ? -1 : latest_->version();
}

absl::Status ParameterStore::WriteToDisk(const StoredParameters& parameters) const {
  const std::string path = StatePath(state_dir_);
  const std::string temporary = absl::StrCat(path, ".tmp");
  const std::string bytes = parameters.SerializeAsString();
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write '", temporary, "': ", std::strerror(errno)));
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      const int saved = errno;
      close(fd);
      return absl::UnavailableError(
          absl::StrCat("writing '", temporary, "' failed: ", std::strerror(saved)));
    }
    written += n;
  }
  // fsync before rename: after a crash the file is either the old set or the whole new one.
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced || std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot replace '", path, "': ", std::strerror(errno)));
  }
  // And the directory, so that the rename itself survives a power loss.
  const int dir_fd = open(state_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool dir_synced = dir_fd >= 0 && fsync(dir_fd) == 0;
  if (dir_fd >= 0) close(dir_fd);
  if (!dir_synced) {
    return absl::UnavailableError(
        absl::StrCat("cannot flush directory '", state_dir_, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace ivg::param_server
