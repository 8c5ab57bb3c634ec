// Process logging set-up (glog: Abseil 20220623 has no absl/log).
#ifndef IVG_COMMON_LOGGING_LOGGING_H_
#define IVG_COMMON_LOGGING_LOGGING_H_

#include <string>

namespace ivg {

// Initialises glog for `program` (argv[0]). Logs go to stderr; when `log_dir` is not empty
// they also go to files there (the local launcher gives each process one).
void InitLogging(const char* program, const std::string& log_dir = "");

}  // namespace ivg

#endif  // IVG_COMMON_LOGGING_LOGGING_H_
