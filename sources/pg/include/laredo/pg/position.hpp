#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "laredo/pg/lsn.hpp"

namespace laredo::pg {

/// Where the PostgreSQL source stands; the `std::any` payload of `laredo::Position` for
/// `laredo::pg::Source`.
///
/// A change is ordered by its transaction's commit LSN (`commit_lsn`, the Begin message's final
/// LSN, known before the transaction's first change arrives) and its 1-based index in the
/// transaction. A baseline's position is `{consistent_point, 0, consistent_point}`, which orders
/// before every change streamed after it.
///
/// `ack_lsn` is what acknowledging this position lets the server release: the commit end LSN for
/// the last change of a transaction, and the previous transaction's end for every other change,
/// because confirming a transaction's end while some of its changes are not durable would make
/// the server skip them after a restart (lessons 1 and 2).
/// Thread-safety: a value type.
struct StreamPosition {
  Lsn commit_lsn{};
  std::uint32_t index = 0;
  Lsn ack_lsn{};

  /// Orders by (commit_lsn, index); `ack_lsn` follows from them.
  static int Compare(const StreamPosition& a, const StreamPosition& b) noexcept;
  /// The order `Source::ComparePositions` gives the engine: `Compare`'s, except that a
  /// transaction's last change (`{C, n, X}`, with `ack_lsn` X, its commit's end, past C) and the
  /// position "everything through X" (`{X, 0, X}`: a slot's confirmed position, a keepalive's
  /// progress) are equal, because no change lies between them and a stream resumed from either
  /// continues with the same transaction. So a slot confirmed at the end of the transaction a
  /// snapshot ends with is not "past" that snapshot.
  static int CompareResumePoints(const StreamPosition& a, const StreamPosition& b) noexcept;

  /// "pg1:16/B374D848:3:16/B374D000"; `Parse(p.ToString()) == p`.
  [[nodiscard]] std::string ToString() const;
  /// Throws `laredo::DataError` (code "bad_position") for text `ToString` would not produce.
  static StreamPosition Parse(std::string_view text);

  friend bool operator==(const StreamPosition&, const StreamPosition&) = default;
};

}  // namespace laredo::pg
