#pragma once

#include <chrono>
#include <optional>

#include "laredo/pipeline_options.hpp"

namespace laredo::engine {

/// One operation's retries under an `ErrorPolicy`: how many attempts were made, and whether and
/// when the next one may run. Not thread-safe (one per retried operation).
class RetryBudget {
 public:
  explicit RetryBudget(const ErrorPolicy& policy) : policy_(policy) {}

  /// Records a failed attempt; the delay before the next one, or nullopt when the failure is not
  /// retryable or the budget (count or time since the first failure) is used up.
  std::optional<std::chrono::milliseconds> Failed(bool retryable);

  /// Attempts made so far, the first one included.
  [[nodiscard]] int attempts() const { return attempts_; }

 private:
  const ErrorPolicy& policy_;
  int attempts_ = 0;
  std::chrono::steady_clock::time_point first_failure_;
};

}  // namespace laredo::engine
