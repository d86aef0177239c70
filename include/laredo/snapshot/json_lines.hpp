#pragma once

#include <cstdint>
#include <ostream>

#include "laredo/snapshot/streams.hpp"

namespace laredo::snapshot {

/// Rows as JSON lines, one object per row (column name -> value), for inspection and for other
/// tools. Values follow the Kinesis data contract (docs/kinesis-data-contract.md) so that the
/// export of a table reads back as that table's objects: integers as JSON integers (as strings
/// beyond 2^53), doubles as numbers ("NaN", "Infinity", "-Infinity" as strings), numeric as its
/// text, JSON as the document itself (as its text in a string when it does not parse), bytes in
/// base64, dates and times in ISO 8601, timestamptz in UTC with "Z", NULL as null. The kinds are
/// not kept: a JSON-lines export is not a snapshot (the table file is).
/// Threading contract: one thread at a time.
class JsonLinesWriter final : public RowWriter {
 public:
  explicit JsonLinesWriter(std::ostream& out) : out_(out) {}
  /// Throws `laredo::DataError` ("bad_snapshot") for an unchanged marker.
  void Write(const Row& row) override;
  [[nodiscard]] std::uint64_t rows() const { return rows_; }

 private:
  std::ostream& out_;
  std::uint64_t rows_ = 0;
};

/// Writes every row of `rows` to `out` as JSON lines; returns how many.
std::uint64_t ExportJsonLines(RowReader& rows, std::ostream& out);

}  // namespace laredo::snapshot
