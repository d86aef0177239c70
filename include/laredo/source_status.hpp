#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace laredo {

/// How far a source trails its origin.
struct LagInfo {
  /// Bytes between the origin's newest position and what was acknowledged (e.g. WAL bytes); 0 when
  /// the source cannot tell.
  std::int64_t lag_bytes = 0;
  /// Time between the newest change at the origin and the last one delivered, when known.
  std::optional<std::chrono::milliseconds> lag_time{};
};

/// What order a source delivers changes in.
enum class OrderingGuarantee : std::uint8_t {
  TotalOrder,         ///< every change in commit order (PostgreSQL WAL)
  PerTableOrder,      ///< ordered within a table only
  PerPartitionOrder,  ///< ordered within a partition or shard (Kinesis): per key
  BestEffort,         ///< no promise
};

/// A source's lifecycle phase, as `SyncSource::State()` reports it.
enum class SourceState : std::uint8_t {
  Connecting,
  Connected,
  Streaming,
  Reconnecting,
  Paused,
  Error,
  Closed,
};

std::string_view ToString(OrderingGuarantee guarantee) noexcept;
std::string_view ToString(SourceState state) noexcept;

}  // namespace laredo
