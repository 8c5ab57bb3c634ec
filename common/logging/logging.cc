#include "common/logging/logging.h"

#include "glog/logging.h"

namespace ivg {

void InitLogging(const char* program, const std::string& log_dir) {
  if (log_dir.empty()) {
    FLAGS_logtostderr = true;
  } else {
    FLAGS_log_dir = log_dir;
    FLAGS_alsologtostderr = true;
  }
  FLAGS_colorlogtostderr = false;
  google::InitGoogleLogging(program);
  google::InstallFailureSignalHandler();
}

}  // namespace ivg
