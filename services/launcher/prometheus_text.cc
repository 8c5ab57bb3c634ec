#include "services/launcher/prometheus_text.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ivg::launcher {
namespace {

absl::StatusOr<double> ParseValue(absl::string_view text) {
  if (text == "+Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return std::nan("");
  double value = 0;
  if (!absl::SimpleAtod(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("bad sample value '", text, "'"));
  }
  return value;
}

// Parses `a="x",b="y\"z"` starting after '{'; advances `pos` past '}'.
absl::Status ParseLabels(const std::string& line, size_t* pos,
                         std::map<std::string, std::string>* labels) {
  while (*pos < line.size() && line[*pos] != '}') {
    const size_t eq = line.find('=', *pos);
    if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
      return absl::InvalidArgumentError("label without =\"value\"");
    }
    const std::string key(absl::StripAsciiWhitespace(line.substr(*pos, eq - *pos)));
    std::string value;
    size_t i = eq + 2;
    for (; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        ++i;
        value += line[i] == 'n' ? '\n' : line[i];
      } else {
        value += line[i];
      }
    }
    if (i >= line.size()) return absl::InvalidArgumentError("unterminated label value");
    (*labels)[key] = value;
    *pos = i + 1;
    if (*pos < line.size() && line[*pos] == ',') ++*pos;
  }
  if (*pos >= line.size()) return absl::InvalidArgumentError("missing '}'");
  ++*pos;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Sample>> ParsePrometheusText(const std::string& text) {
  std::vector<Sample> samples;
  for (absl::string_view raw_line : absl::StrSplit(text, '\n')) {
    const std::string line(absl::StripAsciiWhitespace(raw_line));
    if (line.empty() || line[0] == '#') continue;
    Sample sample;
    size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("metrics line without value: '", line, "'"));
    }
    sample.name = line.substr(0, pos);
    if (line[pos] == '{') {
      ++pos;
      absl::Status status = ParseLabels(line, &pos, &sample.labels);
      if (!status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(status.message(), " in '", line, "'"));
      }
    }
    // `remainder` owns the text the split views point into.
    const std::string remainder = line.substr(pos);
    const std::vector<absl::string_view> rest =
        absl::StrSplit(absl::StripAsciiWhitespace(remainder), ' ', absl::SkipEmpty());
    if (rest.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("metrics line without value: '", line, "'"));
    }
    absl::StatusOr<double> value = ParseValue(rest[0]);
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(value.status().message(), " in '", line, "'"));
    }
    sample.value = *value;
    samples.push_back(std::move(sample));
  }
  return samples;
}

double SumSamples(const std::vector<Sample>& samples, const std::string& name,
                  const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const Sample& sample : samples) {
    if (sample.name != name) continue;
    bool matches = true;
    for (const auto& [key, value] : match) {
      auto it = sample.labels.find(key);
      if (it == sample.labels.end() || it->second != value) {
        matches = false;
        break;
      }
    }
    if (matches) sum += sample.value;
  }
  return sum;
}

bool HasSample(const std::vector<Sample>& samples, const std::string& name) {
  for (const Sample& sample : samples) {
    if (sample.name == name) return true;
  }
  return false;
}

}  // namespace ivg::launcher
