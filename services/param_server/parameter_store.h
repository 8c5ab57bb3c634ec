// The newest parameter set and its version, kept in memory and on disk.
//
// Publishing writes the set to `<state_dir>/parameters.pb` atomically (write a temporary file,
// fsync, rename), so a parameter server restarted after a crash serves the last published set
// instead of making every actor wait for the learner's next publish. Readers get an immutable
// snapshot (shared_ptr), so a Fetch never holds the lock while it copies megabytes.
#ifndef IVG_SERVICES_PARAM_SERVER_PARAMETER_STORE_H_
#define IVG_SERVICES_PARAM_SERVER_PARAMETER_STORE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/params.pb.h"
#include "services/param_server/parameter_schema.h"

namespace ivg::param_server {

// What the store holds: a PublishRequest with the token cleared.
using StoredParameters = PublishRequest;

class ParameterStore {
 public:
  // Loads `<state_dir>/parameters.pb` when it exists; an empty state_dir keeps memory only.
  // A file that does not parse is an error (it is never silently replaced), and so is one
  // that does not fit `schema` when given (FAILED_PRECONDITION naming the file and the first
  // tensor that does not fit): a state dir written by a run with another model config, whose
  // set no actor could load, is refused at startup instead of being served to every actor.
  static absl::StatusOr<std::unique_ptr<ParameterStore>> Create(
      const std::string& state_dir, const ParameterSchema* schema = nullptr);

  // Stores `parameters` if its version is above the stored one (FAILED_PRECONDITION
  // otherwise) and returns the stored version. Durable on disk before it returns.
  absl::StatusOr<int64_t> Publish(PublishRequest parameters) ABSL_LOCKS_EXCLUDED(mutex_);

  // The newest set, or nullptr before anything was published.
  std::shared_ptr<const StoredParameters> Latest() const ABSL_LOCKS_EXCLUDED(mutex_);

  // -1 before anything was published.
  int64_t version() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  ParameterStore(std::string state_dir, std::shared_ptr<const StoredParameters> loaded);
  absl::Status WriteToDisk(const StoredParameters& parameters) const;

  const std::string state_dir_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const StoredParameters> latest_ ABSL_GUARDED_BY(mutex_);
  // Serialises publishers so disk writes happen in version order.
  absl::Mutex publish_mutex_ ABSL_ACQUIRED_BEFORE(mutex_);
};

}  // namespace ivg::param_server

#endif  // IVG_SERVICES_PARAM_SERVER_PARAMETER_STORE_H_
