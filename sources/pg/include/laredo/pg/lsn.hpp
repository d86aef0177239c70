#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace laredo::pg {

/// A PostgreSQL WAL position (an XLogRecPtr): a byte offset into the write-ahead log. Ordered
/// like the log; 0 ("0/0") is PostgreSQL's invalid position. The text form is PostgreSQL's
/// "X/X": the high and low 32-bit halves in hex, e.g. "16/B374D848".
/// Thread-safety: a value type.
class Lsn {
 public:
  constexpr Lsn() noexcept = default;
  constexpr explicit Lsn(std::uint64_t value) noexcept : value_(value) {}

  [[nodiscard]] constexpr std::uint64_t value() const noexcept { return value_; }
  /// False for 0/0, which PostgreSQL uses for "no position".
  [[nodiscard]] constexpr bool IsValid() const noexcept { return value_ != 0; }

  /// "16/B374D848": upper-case hex without leading zeros, as PostgreSQL prints it.
  [[nodiscard]] std::string ToString() const;

  /// Parses what PostgreSQL's pg_lsn accepts: 1 to 8 hex digits (either case), '/', 1 to 8 hex
  /// digits, nothing else. Throws `laredo::DataError` (code "bad_position") otherwise.
  static Lsn Parse(std::string_view text);

  friend constexpr auto operator<=>(Lsn, Lsn) noexcept = default;

 private:
  std::uint64_t value_ = 0;
};

}  // namespace laredo::pg
