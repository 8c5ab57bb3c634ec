// Small helpers every benchmark uses to time sections and name the machine it ran on.
#ifndef IVG_BENCH_COMMON_BENCH_UTIL_H_
#define IVG_BENCH_COMMON_BENCH_UTIL_H_

#include <chrono>
#include <fstream>
#include <string>

namespace ivg::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The "model name" line of /proc/cpuinfo, for the machine line every benchmark prints.
inline std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

}  // namespace ivg::bench

#endif  // IVG_BENCH_COMMON_BENCH_UTIL_H_
