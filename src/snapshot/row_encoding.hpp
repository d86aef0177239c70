#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/row.hpp"
#include "snapshot/byte_io.hpp"

// How one row is laid out inside a table file's block:
//   varint field count, then per field: varint ref (0: the name follows inline as a string;
//   k >= 1: the table's column k-1), u8 kind (`Value::Kind`), and the payload: nothing for NULL,
//   one byte for a boolean, a zig-zag varint for the integer kinds, 8 little-endian bytes of the
//   IEEE bits for a double, a varint length and the octets for the string kinds.
// Unchanged markers are never written and never read.
namespace laredo::snapshot {

/// Throws the `DataError` of a malformed file: names the file, the byte offset of the part that
/// is wrong and what is wrong with it.
struct FailWith {
  std::string_view file;
  std::uint64_t offset = 0;
  [[noreturn]] void operator()(const char* what) const;
};

using BlockCursor = io::Cursor<FailWith>;

/// Appends rows of one table. Not thread-safe (caches the layout of the last names seen).
class RowEncoder {
 public:
  explicit RowEncoder(const std::vector<ColumnDefinition>& columns);
  /// Throws `DataError` (bad_snapshot) for an unchanged marker; `out` is then unchanged.
  void Append(const Row& row, std::string& out);

 private:
  const std::vector<std::uint64_t>& RefsOf(const Row& row);

  std::shared_ptr<const ColumnNames> names_;
  const ColumnNames* cached_names_ = nullptr;
  std::shared_ptr<const ColumnNames> cached_keep_;  // keeps `cached_names_` alive
  std::vector<std::uint64_t> cached_refs_;
};

/// Reads rows of one table. Not thread-safe (reuses its scratch values).
class RowDecoder {
 public:
  explicit RowDecoder(const std::vector<ColumnDefinition>& columns);
  /// Decodes one row into `row`, reusing its storage when it has the table's columns.
  void Decode(BlockCursor& in, Row& row);
  /// The bulk-load path: the row's values as views of the file's bytes, one per table column
  /// (empty for a column the row lacks), each its kind byte and payload, checked as `Decode`
  /// checks them. False, with `in` where it was, for a row that names a column the table does not
  /// declare.
  bool DecodeRaw(BlockCursor& in, std::vector<std::string_view>& columns) const;

 private:
  /// Decodes a row that has the table's columns in order straight into `row` (which has them
  /// too); false, with `in` where it was, for any other row.
  bool DecodeInPlace(BlockCursor& in, Row& row);
  static void DecodeValue(BlockCursor& in, Value& out);
  /// Checks one value and returns its bytes (kind and payload).
  static std::string_view SkipValue(BlockCursor& in);

  std::shared_ptr<const ColumnNames> names_;
  std::vector<Value> values_;
  std::vector<std::string> extra_names_;
};

}  // namespace laredo::snapshot
