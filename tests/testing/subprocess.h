// Test helpers for running external tools (promtool, redis-cli) as a person would.
#ifndef IVG_TESTS_TESTING_SUBPROCESS_H_
#define IVG_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace ivg::testing {

// A child process started from a test: output to `log_path`, killed (SIGKILL) if the test
// process dies, and stopped by the destructor if still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signal`; waits up to `timeout` for the exit. Returns the exit code (negative:
  // killed by that signal), or nullopt-like INT_MIN when it did not exit in time.
  int SignalAndWait(int signal, absl::Duration timeout);
  bool Running();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Every live process whose ancestor chain includes `root` (scanned from /proc).
std::set<pid_t> Descendants(pid_t root);
// Live processes whose command line contains `needle`.
std::vector<pid_t> ProcessesWithCommandLine(const std::string& needle);
bool ProcessAlive(pid_t pid);

// Runs `command` through /bin/sh with `input` on stdin; returns exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command, const std::string& input = "");

}  // namespace ivg::testing

#endif  // IVG_TESTS_TESTING_SUBPROCESS_H_
