// Files that hold secrets (the run's config with its publish token and Redis password, Redis's
// own secrets file): written with mode 0600, readable by their owner only.
#ifndef IVG_COMMON_FILE_OWNER_ONLY_FILE_H_
#define IVG_COMMON_FILE_OWNER_ONLY_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace ivg {

// Writes `text` to `path` with mode 0600, also when the file exists with another mode (O_CREAT
// keeps an existing file's mode). The error names the path.
absl::Status WriteOwnerOnlyFile(const std::string& path, const std::string& text);

}  // namespace ivg

#endif  // IVG_COMMON_FILE_OWNER_ONLY_FILE_H_
