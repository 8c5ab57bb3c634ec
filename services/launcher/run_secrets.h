// Secrets of one local run: the learners' publish token and the replay shards' Redis
// password. The compiled-in defaults are public (they are in proto/config.proto), so a run
// that keeps them gets fresh random ones, and the run's config file, which every process
// reads them from (never from a command line), is readable by its owner only
// (common/file/owner_only_file.h).
#ifndef IVG_SERVICES_LAUNCHER_RUN_SECRETS_H_
#define IVG_SERVICES_LAUNCHER_RUN_SECRETS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/config.pb.h"

namespace ivg::launcher {

// `bytes` random bytes from the kernel (getrandom), as lowercase hex.
absl::StatusOr<std::string> RandomSecret(int bytes = 24);

// Replaces cluster.publish_token and replay.redis_password with random secrets where the
// config leaves them unset (at their public defaults); values the user set stay as they are.
absl::Status AssignRunSecrets(ExperimentConfig* config);

}  // namespace ivg::launcher

#endif  // IVG_SERVICES_LAUNCHER_RUN_SECRETS_H_
