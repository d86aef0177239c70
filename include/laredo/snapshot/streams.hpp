#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "laredo/row.hpp"

// The four small interfaces snapshots are built from: rows in and out of a target, bytes in and
// out of a store. Each object is used by one thread at a time.
namespace laredo::snapshot {

/// Where an exporting target puts its rows (a table file, a JSON-lines export, a test's vector).
/// Threading contract: one thread at a time.
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  /// One row. Throws `laredo::DataError` for a row that cannot be stored (an unchanged marker).
  virtual void Write(const Row& row) = 0;
};

/// Where a restoring target gets its rows. Threading contract: one thread at a time.
class RowReader {
 public:
  virtual ~RowReader() = default;
  /// Assigns the next row to `row` (reusing its storage) and returns true, or returns false at
  /// the end. A reader of a file returns false only after it checked the whole file (trailer,
  /// counts, checksums), so a target that swaps its contents in after `false` never takes a
  /// corrupt file; it throws `laredo::DataError` instead.
  virtual bool Next(Row& row) = 0;
  /// How many rows are expected, when known in advance (a snapshot's metadata says), so that a
  /// restoring target can size its indexes once. A hint: the reader's end is what counts.
  [[nodiscard]] virtual std::optional<std::uint64_t> RowCountHint() const { return std::nullopt; }
};

/// Bytes written to a store's file. `Close` makes them durable (fsync, completed upload); a sink
/// destroyed without `Close` discards what it got where it can (the file is never committed).
/// Threading contract: one thread at a time.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void Write(std::string_view bytes) = 0;
  virtual void Close() = 0;
};

/// Bytes read from a store's file. Threading contract: one thread at a time.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Up to `size` bytes into `out`; 0 only at the end.
  virtual std::size_t Read(char* out, std::size_t size) = 0;
};

}  // namespace laredo::snapshot
