#pragma once

// Reading samples back out of the text exposition format, for assertions.

#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace laredo::testing {

/// The value of the sample whose name and labels are exactly `series` (e.g.
/// `foo_total{a="b"}`), or nullopt when the text has no such line.
inline std::optional<double> SampleValue(const std::string& text, std::string_view series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      const auto value = line.substr(series.size() + 1);
      if (value == "+Inf") return std::numeric_limits<double>::infinity();
      return std::stod(value);
    }
  }
  return std::nullopt;
}

/// How many lines of `text` start with `prefix`.
inline int CountLines(const std::string& text, std::string_view prefix) {
  std::istringstream lines(text);
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) ++count;
  }
  return count;
}

}  // namespace laredo::testing
