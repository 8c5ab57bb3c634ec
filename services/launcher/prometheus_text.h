// Parses the Prometheus text exposition format that every process serves, so the launcher
// can summarise a running cluster from the same numbers Prometheus and Grafana see.
#ifndef IVG_SERVICES_LAUNCHER_PROMETHEUS_TEXT_H_
#define IVG_SERVICES_LAUNCHER_PROMETHEUS_TEXT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ivg::launcher {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses every sample line; comment lines are skipped. A malformed line is an error naming it.
absl::StatusOr<std::vector<Sample>> ParsePrometheusText(const std::string& text);

// Sum of the samples named `name` whose labels include every pair of `match`.
double SumSamples(const std::vector<Sample>& samples, const std::string& name,
                  const std::map<std::string, std::string>& match = {});

// Whether any sample with this name exists.
bool HasSample(const std::vector<Sample>& samples, const std::string& name);

}  // namespace ivg::launcher

#endif  // IVG_SERVICES_LAUNCHER_PROMETHEUS_TEXT_H_
