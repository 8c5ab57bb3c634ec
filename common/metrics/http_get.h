// A minimal blocking HTTP/1.1 GET for scraping /metrics the way Prometheus does (a real
// TCP connection to the real server). Used by the local launcher's progress line and tests.
#ifndef IVG_COMMON_METRICS_HTTP_GET_H_
#define IVG_COMMON_METRICS_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ivg::metrics {

struct HttpResponse {
  int status_code = 0;
  std::string headers;
  std::string body;
};

// GET http://<host>:<port><path>; `timeout` bounds connect, send and every receive.
absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path,
                                     absl::Duration timeout = absl::Seconds(10));

}  // namespace ivg::metrics

#endif  // IVG_COMMON_METRICS_HTTP_GET_H_
