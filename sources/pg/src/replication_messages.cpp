#include "replication_messages.hpp"

#include <fmt/format.h>

#include <limits>

namespace laredo::pg {
namespace {

using Reader = ByteReader<ReplicationDecodeError>;

void PutU64(std::byte* out, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<std::byte>(v & 0xFFU);  // NOLINT: fixed-size buffer, index 0..7
    v >>= 8U;
  }
}

}  // namespace

ReplicationMessage DecodeReplicationMessage(std::span<const std::byte> copy_data) {
  Reader in(copy_data, "replication message");
  const auto type = in.U8("Byte1 message type ('w' or 'k')");
  if (type == 'w') {
    in.set_context("replication XLogData");
    XLogData m;
    m.wal_start = Lsn(in.U64("Int64 WAL start"));
    m.wal_end = Lsn(in.U64("Int64 WAL end"));
    m.send_time = in.I64("Int64 send time");
    m.payload = in.Rest();
    return m;
  }
  if (type == 'k') {
    in.set_context("replication keepalive");
    PrimaryKeepalive m;
    m.wal_end = Lsn(in.U64("Int64 WAL end"));
    m.send_time = in.I64("Int64 send time");
    const auto at = in.offset();
    const auto reply = in.U8("Byte1 reply-requested flag");
    if (reply > 1) in.FailAt(at, fmt::format("reply-requested flag 0 or 1 (got {})", reply));
    m.reply_requested = reply == 1;
    in.ExpectEnd();
    return m;
  }
  in.FailAt(0, fmt::format("message type 'w' or 'k' (got 0x{:02x})", type));
}

std::array<std::byte, kStandbyStatusUpdateSize> EncodeStandbyStatusUpdate(
    const StandbyStatusUpdate& update) noexcept {
  std::array<std::byte, kStandbyStatusUpdateSize> out{};
  out[0] = std::byte{'r'};
  PutU64(&out[1], update.write.value());
  PutU64(&out[9], update.flush.value());
  PutU64(&out[17], update.apply.value());
  PutU64(&out[25], static_cast<std::uint64_t>(update.client_time));
  out[33] = std::byte{update.reply_requested ? std::uint8_t{1} : std::uint8_t{0}};
  return out;
}

std::chrono::sys_time<std::chrono::microseconds> FromPgEpochMicros(std::int64_t micros) noexcept {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  const std::int64_t unix_micros =
      micros > kMax - kPgEpochOffsetMicros ? kMax : micros + kPgEpochOffsetMicros;
  return std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(unix_micros));
}

std::int64_t ToPgEpochMicros(std::chrono::system_clock::time_point time) noexcept {
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  const auto unix_micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  return unix_micros < kMin + kPgEpochOffsetMicros ? kMin : unix_micros - kPgEpochOffsetMicros;
}

}  // namespace laredo::pg
