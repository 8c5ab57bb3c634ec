// Prometheus metrics: counters, gauges and histograms with labels.
//
// prometheus-cpp is not packaged for Debian 12, so this is a small, dependency-free
// equivalent. A MetricRegistry owns metric families; a family has a name, help text and
// label names; each distinct set of label values is one time series. Updating a series is
// lock-free (atomics); looking one up (WithLabels) takes the family's mutex, so hot paths
// should look a series up once and keep the pointer, which stays valid for the registry's
// lifetime. Serialization is in text_exposition.h, serving over HTTP in metrics_server.h.
//
// Names follow Prometheus conventions: ivg_<component>_<thing>_<unit>, and counters end in
// _total.
#ifndef IVG_COMMON_METRICS_METRICS_H_
#define IVG_COMMON_METRICS_METRICS_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace ivg::metrics {

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

// A value that only goes up (resets only with the process).
class Counter {
 public:
  void Increment(double amount = 1.0);  // amount must be >= 0; negative amounts are ignored.
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Increment(double amount = 1.0);
  void Decrement(double amount = 1.0) { Increment(-amount); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into buckets with fixed upper bounds (plus the implicit +Inf bucket)
// and tracks their sum.
class Histogram {
 public:
  // `upper_bounds` must be strictly increasing.
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    // Non-cumulative counts; one more than upper_bounds (the last is the +Inf bucket).
    std::vector<uint64_t> bucket_counts;
    uint64_t count = 0;
    double sum = 0.0;
  };
  Snapshot Collect() const;

 private:
  const std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Bucket helpers.
std::vector<double> ExponentialBuckets(double start, double factor, int count);
std::vector<double> LinearBuckets(double start, double width, int count);
// 0.1 ms .. ~6.5 s, for latencies in seconds.
std::vector<double> DefaultLatencyBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

// A named metric with label names; series are created on first use of a label-value set.
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        buckets_(std::move(buckets)) {}

  // The series for these label values (as many as label names, else the process aborts:
  // that is a programming error, not input). The pointer lives as long as the registry.
  T* WithLabels(const LabelValues& values);
  // The series of a family without labels.
  T* Get() { return WithLabels({}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // A stable copy of the series list for serialization.
  std::vector<std::pair<LabelValues, const T*>> Series() const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> buckets_;
  mutable absl::Mutex mutex_;
  std::map<LabelValues, std::unique_ptr<T>> series_ ABSL_GUARDED_BY(mutex_);
};

// Owns families. Registering a name twice with the same type and labels returns the same
// family; with a different type or labels the process aborts (a programming error).
class MetricRegistry {
 public:
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              const std::vector<std::string>& label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          const std::vector<std::string>& label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  const std::vector<std::string>& label_names,
                                  std::vector<double> buckets);

  // Text exposition format (version 0.0.4) of every family, in registration order.
  std::string Serialize() const;

 private:
  struct Entry {
    MetricType type;
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
  };
  Entry* FindOrNull(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  std::vector<std::pair<std::string, Entry>> entries_ ABSL_GUARDED_BY(mutex_);
};

// The process's registry, served by the process's MetricsServer.
MetricRegistry& DefaultRegistry();

}  // namespace ivg::metrics

#endif  // IVG_COMMON_METRICS_METRICS_H_
