#include "tests/testing/subprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace ivg::testing {

CommandResult RunCommand(const std::string& command, const std::string& input) {
  char input_path[] = "/tmp/ivg_command_input_XXXXXX";
  const int input_fd = mkstemp(input_path);
  if (input_fd >= 0) {
    [[maybe_unused]] ssize_t written = write(input_fd, input.data(), input.size());
    close(input_fd);
  }
  CommandResult result;
  FILE* pipe = popen(absl::StrCat(command, " < ", input_path, " 2>&1").c_str(), "r");
  if (pipe != nullptr) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  unlink(input_path);
  return result;
}

}  // namespace ivg::testing
