#include "laredo/backoff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>

namespace laredo {

std::chrono::milliseconds Backoff::Delay(int retry) const noexcept {
  if (initial >= max) return max;
  // In floating point, so a large retry count saturates at `max` instead of overflowing.
  const double grown = static_cast<double>(initial.count()) *
                       std::pow(std::max(multiplier, 1.0), std::max(retry, 1) - 1);
  if (!(grown < static_cast<double>(max.count()))) return max;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(grown));
}

void Backoff::Validate(std::string_view where, std::vector<std::string>& problems) const {
  if (initial < std::chrono::milliseconds::zero()) {
    problems.push_back(fmt::format("{}.initial must not be negative", where));
  }
  if (max <= std::chrono::milliseconds::zero()) {
    problems.push_back(fmt::format("{}.max must be positive", where));
  }
  if (max < initial) problems.push_back(fmt::format("{}.max must be at least .initial", where));
  if (!(multiplier >= 1.0)) problems.push_back(fmt::format("{}.multiplier must be >= 1", where));
}

bool SleepFor(const std::stop_token& stop, std::chrono::nanoseconds delay) {
  if (stop.stop_requested()) return false;
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lk(mu);
  // Waits for the stop only: the predicate is the stop token itself.
  cv.wait_for(lk, stop, delay, [] { return false; });
  return !stop.stop_requested();
}

}  // namespace laredo
