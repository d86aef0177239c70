#pragma once

// The pieces of the Prometheus text exposition format 0.0.4 that need care: number spelling and
// escaping. Kept apart from the registry so that tests can check them one by one.

#include <string>
#include <string_view>
#include <vector>

namespace laredo::metrics::detail {

/// A sample value or `le` bound as Prometheus parses it (Go's ParseFloat): shortest round-trip
/// digits, "+Inf", "-Inf", "NaN"; never locale-dependent.
void AppendNumber(std::string& out, double value);
std::string FormatNumber(double value);

/// `# HELP` text: backslash and newline escaped.
void AppendEscapedHelp(std::string& out, std::string_view help);
/// A label value: backslash, double quote and newline escaped.
void AppendEscapedLabelValue(std::string& out, std::string_view value);

/// `{a="x",b="y"}`, plus `extra_name="extra_value"` last when `extra_name` is not empty (a
/// histogram's `le`); nothing at all when there are no labels.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {});

/// `# HELP name help\n# TYPE name type\n`.
void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type);

bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

}  // namespace laredo::metrics::detail
