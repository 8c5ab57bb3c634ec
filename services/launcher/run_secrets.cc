#include "services/launcher/run_secrets.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ivg::launcher {

absl::StatusOr<std::string> RandomSecret(int bytes) {
  std::vector<char> buffer(bytes);
  ssize_t filled = 0;
  while (filled < bytes) {
    const ssize_t n = getrandom(buffer.data() + filled, bytes - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(absl::StrCat("getrandom failed: ", std::strerror(errno)));
    }
    filled += n;
  }
  return absl::BytesToHexString(absl::string_view(buffer.data(), buffer.size()));
}

absl::Status AssignRunSecrets(ExperimentConfig* config) {
  if (!config->cluster().has_publish_token()) {
    absl::StatusOr<std::string> token = RandomSecret();
    if (!token.ok()) return token.status();
    config->mutable_cluster()->set_publish_token(*token);
  }
  if (!config->replay().has_redis_password()) {
    absl::StatusOr<std::string> password = RandomSecret();
    if (!password.ok()) return password.status();
    config->mutable_replay()->set_redis_password(*password);
  }
  return absl::OkStatus();
}

}  // namespace ivg::launcher
