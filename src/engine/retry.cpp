#include "engine/retry.hpp"

namespace laredo::engine {

std::optional<std::chrono::milliseconds> RetryBudget::Failed(bool retryable) {
  const auto now = std::chrono::steady_clock::now();
  if (attempts_++ == 0) first_failure_ = now;
  if (!retryable) return std::nullopt;
  const bool out_of_count = policy_.max_retries >= 0 && attempts_ > policy_.max_retries;
  if (out_of_count || now - first_failure_ >= policy_.retry_timeout) return std::nullopt;
  return policy_.backoff.Delay(attempts_);
}

}  // namespace laredo::engine
