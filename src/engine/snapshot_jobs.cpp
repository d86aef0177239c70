#include "engine/snapshot_jobs.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace laredo::engine {

void JobReports::Done(const std::string& pipeline, std::uint64_t rows, std::uint64_t bytes) {
  {
    std::lock_guard lk(mu_);
    reports_[pipeline] = Report{.ok = true, .reason = {}, .rows = rows, .bytes = bytes};
  }
  cv_.notify_all();
}

void JobReports::Failed(const std::string& pipeline, std::string reason) {
  {
    std::lock_guard lk(mu_);
    reports_[pipeline] = Report{.ok = false, .reason = std::move(reason), .rows = 0, .bytes = 0};
  }
  cv_.notify_all();
}

bool JobReports::Wait(std::chrono::steady_clock::time_point deadline, const std::stop_token& stop,
                      const std::function<std::optional<std::string>(const std::string&)>& gone) {
  std::unique_lock lk(mu_);
  for (;;) {
    const bool failed =
        std::any_of(reports_.begin(), reports_.end(), [](const auto& r) { return !r.second.ok; });
    if (failed) return false;
    std::vector<std::string> missing;
    for (const auto& p : expected_) {
      if (!reports_.contains(p)) missing.push_back(p);
    }
    if (missing.empty()) return true;
    if (stop.stop_requested()) {
      extra_failures_.push_back("stopped");
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      extra_failures_.push_back(fmt::format("timed out waiting for {}", fmt::join(missing, ", ")));
      return false;
    }
    lk.unlock();
    for (const auto& p : missing) {
      if (auto why = gone(p)) {
        lk.lock();
        extra_failures_.push_back(p + ": " + *why);
        return false;
      }
    }
    lk.lock();
    const auto next =
        std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    const std::size_t seen = reports_.size();
    cv_.wait_until(lk, stop, next, [&] { return reports_.size() != seen; });
  }
}

std::string JobReports::failures() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> all;
  for (const auto& [pipeline, report] : reports_) {
    if (!report.ok) all.push_back(pipeline + ": " + report.reason);
  }
  all.insert(all.end(), extra_failures_.begin(), extra_failures_.end());
  return fmt::format("{}", fmt::join(all, "; "));
}

std::uint64_t JobReports::rows() const {
  std::lock_guard lk(mu_);
  std::uint64_t n = 0;
  for (const auto& [pipeline, report] : reports_) n += report.rows;
  return n;
}

std::uint64_t JobReports::bytes() const {
  std::lock_guard lk(mu_);
  std::uint64_t n = 0;
  for (const auto& [pipeline, report] : reports_) n += report.bytes;
  return n;
}

}  // namespace laredo::engine
