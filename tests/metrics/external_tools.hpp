#pragma once

// External programs the operations tests drive (promtool, prometheus, curl). Missing ones skip the
// test on a developer machine and fail it in CI (CI=true), as the server-backed tests do.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace laredo::testing {

/// The program's path on PATH, or empty.
inline std::string FindTool(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path == nullptr ? "/usr/bin:/bin" : path;
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const auto dir = dirs.substr(0, colon);
    const auto candidate = std::filesystem::path(std::string(dir)) / std::string(name);
    std::error_code ec;
    if (!dir.empty() && std::filesystem::is_regular_file(candidate, ec) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

/// Runs `command` through the shell, capturing its output.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) result.output += buffer;
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace laredo::testing

/// Declares `var` as the path of tool `name`; skips the test when it is missing, or fails it in CI.
#define LAREDO_REQUIRE_TOOL(var, name)                                                       \
  const std::string var = ::laredo::testing::FindTool(name);                                 \
  if (var.empty()) {                                                                         \
    if (::laredo::testing::InCi()) FAIL() << name << " is not installed (scripts/setup.sh)"; \
    GTEST_SKIP() << name << " is not installed; scripts/setup.sh installs it";               \
  }
