#pragma once

#include <chrono>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace laredo {

/// Capped exponential backoff: the delay before retry `n` (1 = the first retry) is
/// `initial * multiplier^(n-1)`, never more than `max`. The one backoff of the library: pipelines
/// retrying a target (`ErrorPolicy`), the engine retrying a source (`EngineOptions`), the
/// PostgreSQL source reconnecting and the Kinesis source backing off a throttled shard all use it.
/// A value type; thread-safe to share.
struct Backoff {
  /// Delay before the first retry.
  std::chrono::milliseconds initial{100};
  /// Upper bound of the delay.
  std::chrono::milliseconds max{10'000};
  /// Growth of the delay per retry; at least 1.
  double multiplier = 2.0;

  /// The delay before retry `retry` (values below 1 count as 1).
  [[nodiscard]] std::chrono::milliseconds Delay(int retry) const noexcept;

  /// Appends a message per problem (negative or zero delays, max below initial, multiplier below
  /// 1), each prefixed by `where` (e.g. "EngineOptions.source_backoff").
  void Validate(std::string_view where, std::vector<std::string>& problems) const;
};

/// Waits `delay`, returning early when `stop` is triggered; false when it was.
bool SleepFor(const std::stop_token& stop, std::chrono::nanoseconds delay);

}  // namespace laredo
