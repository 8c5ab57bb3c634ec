// Prometheus text exposition format 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/metrics/metrics.h"

namespace ivg::metrics {
namespace {

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string Escape(const std::string& text, bool escape_quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // %.17g round-trips every double; integers print without a fraction.
  return absl::StrFormat("%.17g", value);
}

std::string FormatLabels(const std::vector<std::string>& names, const LabelValues& values,
                         const std::string& extra_name = "",
                         const std::string& extra_value = "") {
  if (names.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ",";
    absl::StrAppend(&out, names[i], "=\"", Escape(values[i], true), "\"");
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ",";
    absl::StrAppend(&out, extra_name, "=\"", extra_value, "\"");
  }
  out += "}";
  return out;
}

template <typename T>
void AppendHeader(const Family<T>& family, const char* type, std::string* out) {
  absl::StrAppend(out, "# HELP ", family.name(), " ", Escape(family.help(), false), "\n");
  absl::StrAppend(out, "# TYPE ", family.name(), " ", type, "\n");
}

template <typename T>
void AppendScalarFamily(const Family<T>& family, const char* type, std::string* out) {
  AppendHeader(family, type, out);
  for (const auto& [labels, series] : family.Series()) {
    absl::StrAppend(out, family.name(), FormatLabels(family.label_names(), labels), " ",
                    FormatValue(series->Value()), "\n");
  }
}

void AppendHistogramFamily(const Family<Histogram>& family, std::string* out) {
  AppendHeader(family, "histogram", out);
  for (const auto& [labels, series] : family.Series()) {
    const Histogram::Snapshot snapshot = series->Collect();
    uint64_t cumulative = 0;
    for (size_t i = 0; i < snapshot.bucket_counts.size(); ++i) {
      cumulative += snapshot.bucket_counts[i];
      const std::string le = i < snapshot.upper_bounds.size()
                                 ? FormatValue(snapshot.upper_bounds[i])
                                 : std::string("+Inf");
      absl::StrAppend(out, family.name(), "_bucket",
                      FormatLabels(family.label_names(), labels, "le", le), " ", cumulative,
                      "\n");
    }
    const std::string label_text = FormatLabels(family.label_names(), labels);
    absl::StrAppend(out, family.name(), "_sum", label_text, " ", FormatValue(snapshot.sum), "\n");
    absl::StrAppend(out, family.name(), "_count", label_text, " ", snapshot.count, "\n");
  }
}

}  // namespace

std::string MetricRegistry::Serialize() const {
  absl::MutexLock lock(&mutex_);
  std::string out;
  for (const auto& [name, entry] : entries_) {
    switch (entry.type) {
      case MetricType::kCounter:
        AppendScalarFamily(*entry.counter, "counter", &out);
        break;
      case MetricType::kGauge:
        AppendScalarFamily(*entry.gauge, "gauge", &out);
        break;
      case MetricType::kHistogram:
        AppendHistogramFamily(*entry.histogram, &out);
        break;
    }
  }
  return out;
}

}  // namespace ivg::metrics
