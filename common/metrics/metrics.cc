#include "common/metrics/metrics.h"

#include <algorithm>
#include <cmath>

#include "glog/logging.h"

namespace ivg::metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double amount) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
  }
}

}  // namespace

void Counter::Increment(double amount) {
  if (!(amount >= 0)) return;  // Also drops NaN: a counter must never go down.
  AtomicAdd(value_, amount);
}

void Gauge::Increment(double amount) { AtomicAdd(value_, amount); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  CHECK(std::is_sorted(upper_bounds_.begin(), upper_bounds_.end()) &&
        std::adjacent_find(upper_bounds_.begin(), upper_bounds_.end()) == upper_bounds_.end())
      << "histogram bucket bounds must be strictly increasing";
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  // First bucket whose upper bound is >= value ("le" semantics); NaN lands in +Inf.
  const size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snapshot;
  snapshot.upper_bounds = upper_bounds_;
  snapshot.bucket_counts.resize(upper_bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    snapshot.bucket_counts[i] = counts_[i].load(std::memory_order_relaxed);
    total += snapshot.bucket_counts[i];
  }
  // Count is derived from the buckets so a concurrent Observe cannot make them disagree.
  snapshot.count = total;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  CHECK(start > 0 && factor > 1 && count >= 1);
  std::vector<double> bounds(count);
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds[i] = bound;
  return bounds;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  CHECK(width > 0 && count >= 1);
  std::vector<double> bounds(count);
  for (int i = 0; i < count; ++i) bounds[i] = start + i * width;
  return bounds;
}

std::vector<double> DefaultLatencyBuckets() { return ExponentialBuckets(1e-4, 2.0, 17); }

template <typename T>
T* Family<T>::WithLabels(const LabelValues& values) {
  CHECK_EQ(values.size(), label_names_.size())
      << "metric " << name_ << " takes " << label_names_.size() << " label values";
  absl::MutexLock lock(&mutex_);
  auto& slot = series_[values];
  if (slot == nullptr) {
    if constexpr (std::is_same_v<T, Histogram>) {
      slot = std::make_unique<Histogram>(buckets_);
    } else {
      slot = std::make_unique<T>();
    }
  }
  return slot.get();
}

template <typename T>
std::vector<std::pair<LabelValues, const T*>> Family<T>::Series() const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::pair<LabelValues, const T*>> result;
  result.reserve(series_.size());
  for (const auto& [labels, series] : series_) result.emplace_back(labels, series.get());
  return result;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricRegistry::Entry* MetricRegistry::FindOrNull(const std::string& name) {
  for (auto& [entry_name, entry] : entries_) {
    if (entry_name == name) return &entry;
  }
  return nullptr;
}

Family<Counter>& MetricRegistry::AddCounter(const std::string& name, const std::string& help,
                                            const std::vector<std::string>& label_names) {
  absl::MutexLock lock(&mutex_);
  if (Entry* existing = FindOrNull(name)) {
    CHECK(existing->type == MetricType::kCounter &&
          existing->counter->label_names() == label_names)
        << "metric " << name << " registered twice with different types or labels";
    return *existing->counter;
  }
  Entry entry{MetricType::kCounter};
  entry.counter = std::make_unique<Family<Counter>>(name, help, label_names);
  entries_.emplace_back(name, std::move(entry));
  return *entries_.back().second.counter;
}

Family<Gauge>& MetricRegistry::AddGauge(const std::string& name, const std::string& help,
                                        const std::vector<std::string>& label_names) {
  absl::MutexLock lock(&mutex_);
  if (Entry* existing = FindOrNull(name)) {
    CHECK(existing->type == MetricType::kGauge && existing->gauge->label_names() == label_names)
        << "metric " << name << " registered twice with different types or labels";
    return *existing->gauge;
  }
  Entry entry{MetricType::kGauge};
  entry.gauge = std::make_unique<Family<Gauge>>(name, help, label_names);
  entries_.emplace_back(name, std::move(entry));
  return *entries_.back().second.gauge;
}

Family<Histogram>& MetricRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                const std::vector<std::string>& label_names,
                                                std::vector<double> buckets) {
  absl::MutexLock lock(&mutex_);
  if (Entry* existing = FindOrNull(name)) {
    CHECK(existing->type == MetricType::kHistogram &&
          existing->histogram->label_names() == label_names)
        << "metric " << name << " registered twice with different types or labels";
    return *existing->histogram;
  }
  Entry entry{MetricType::kHistogram};
  entry.histogram =
      std::make_unique<Family<Histogram>>(name, help, label_names, std::move(buckets));
  entries_.emplace_back(name, std::move(entry));
  return *entries_.back().second.histogram;
}

MetricRegistry& DefaultRegistry() {
  static MetricRegistry* registry = new MetricRegistry();
  return *registry;
}

}  // namespace ivg::metrics
