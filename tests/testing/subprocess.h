// Test helpers for running external tools (promtool, redis-cli) as a person would.
#ifndef IVG_TESTS_TESTING_SUBPROCESS_H_
#define IVG_TESTS_TESTING_SUBPROCESS_H_

#include <string>

namespace ivg::testing {

// Runs `command` through /bin/sh with `input` on stdin; returns exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command, const std::string& input = "");

}  // namespace ivg::testing

#endif  // IVG_TESTS_TESTING_SUBPROCESS_H_
