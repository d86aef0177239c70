#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "byte_reader.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/pg/lsn.hpp"

namespace laredo::pg {

/// A streaming-replication CopyData message that does not follow the format (code
/// "replication_decode").
class ReplicationDecodeError : public WireDecodeError {
 public:
  ReplicationDecodeError(std::string_view context, std::size_t offset, std::size_t size,
                         std::string expected)
      : WireDecodeError(codes::kReplicationDecode, context, offset, size, std::move(expected)) {}
};

/// 'w': a chunk of WAL; for logical replication, exactly one pgoutput message.
/// `payload` points into the decoded buffer.
struct XLogData {
  Lsn wal_start;
  /// The server's current end of WAL (0 inside a transaction on some versions).
  Lsn wal_end;
  /// Server clock, microseconds since 2000-01-01 UTC.
  std::int64_t send_time = 0;
  std::span<const std::byte> payload;
};

/// 'k': the server is alive; when `reply_requested`, answer at once with a standby status update
/// or the server disconnects after wal_sender_timeout.
struct PrimaryKeepalive {
  Lsn wal_end;
  std::int64_t send_time = 0;
  bool reply_requested = false;
};

using ReplicationMessage = std::variant<XLogData, PrimaryKeepalive>;

/// Decodes the body of one CopyData message received during START_REPLICATION. Throws
/// `ReplicationDecodeError` on an unknown type, truncation or trailing bytes.
ReplicationMessage DecodeReplicationMessage(std::span<const std::byte> copy_data);

/// 'r': what the client reports. `flush` is what the server may release (lesson 2: exactly the
/// engine's durable acknowledgement, never merely what was received).
struct StandbyStatusUpdate {
  Lsn write;
  Lsn flush;
  Lsn apply;
  /// Client clock, microseconds since 2000-01-01 UTC (see ToPgEpochMicros).
  std::int64_t client_time = 0;
  /// Ask the server to answer with a keepalive at once.
  bool reply_requested = false;
};

inline constexpr std::size_t kStandbyStatusUpdateSize = 34;

/// The CopyData body to send for `update`.
std::array<std::byte, kStandbyStatusUpdateSize> EncodeStandbyStatusUpdate(
    const StandbyStatusUpdate& update) noexcept;

/// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
inline constexpr std::int64_t kPgEpochOffsetMicros = 946'684'800'000'000;

/// Server timestamps (microseconds since 2000-01-01) as instants. Saturates instead of
/// overflowing for values no server sends.
std::chrono::sys_time<std::chrono::microseconds> FromPgEpochMicros(std::int64_t micros) noexcept;
std::int64_t ToPgEpochMicros(std::chrono::system_clock::time_point time) noexcept;

}  // namespace laredo::pg
