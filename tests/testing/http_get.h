// A minimal blocking HTTP/1.1 GET over loopback for tests that scrape /metrics the way
// Prometheus does (a real TCP connection to the real server).
#ifndef IVG_TESTS_TESTING_HTTP_GET_H_
#define IVG_TESTS_TESTING_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"

namespace ivg::testing {

struct HttpResponse {
  int status_code = 0;
  std::string headers;
  std::string body;
};

// GET http://127.0.0.1:<port><path>, with a 10 s socket timeout.
absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& path);

// Runs `command` through /bin/sh with `input` on stdin; returns exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command, const std::string& input = "");

}  // namespace ivg::testing

#endif  // IVG_TESTS_TESTING_HTTP_GET_H_
