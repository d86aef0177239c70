#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace laredo::pg {

/// A snapshot as `pg_current_snapshot()` prints it ("xmin:xmax:xip,xip,..."), reduced to the
/// 32-bit transaction ids pgoutput sends. Pure. Thread-safety: a value type.
struct PgSnapshot {
  std::uint32_t xmin = 0;
  std::uint32_t xmax = 0;
  std::vector<std::uint32_t> in_progress;

  /// Throws `laredo::DataError` (code "pg_protocol") for text of another shape.
  static PgSnapshot Parse(std::string_view text);
  /// Whether a transaction's effects are visible in the snapshot, assuming it committed (ids
  /// compared modulo 2^32, as the server compares them).
  [[nodiscard]] bool Sees(std::uint32_t xid) const;
};

}  // namespace laredo::pg
