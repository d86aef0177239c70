#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "laredo/row.hpp"

namespace laredo::memory {

/// Turns one table's rows into compact byte strings and back, and reads key columns out of them.
///
/// A stored row is `[varint signature][payload per column]`. The signature numbers the row's
/// list of column kinds in a per-table dictionary, so a row pays about one byte for all its kinds
/// (rows of a table share a handful of kind lists: one per pattern of NULLs). Payloads: nothing
/// for NULL and for a column the row lacks, one byte for booleans, 8 for doubles, a zig-zag varint
/// of the distance from the column's first stored value for integer kinds (timestamps of one table
/// lie close together, so 9-byte microsecond counts shrink to 4-6 bytes), a varint length and the
/// bytes for strings. Column names are kept once, here.
///
/// Threading: the encoding side (`Encode`, `KeyOfRow`, `AddColumns`) grows caches and must be
/// called by the writer alone; the reading side (`Decode`, `SizeOf`, `AppendKeyOf`,
/// `KeyOfRowByName`) may run on any number of threads while no writer runs. The owner locks.
class RowCodec {
 public:
  /// Tag of a column the row does not have (kept distinct from SQL NULL).
  static constexpr std::uint8_t kAbsent = 0xFF;

  explicit RowCodec(std::vector<std::string> table_columns);

  /// The encoding of `row`, valid until the next call. Values sent as unchanged are stored as
  /// absent (a marker is never stored). Columns the table lacks are added as undeclared columns.
  std::string_view Encode(const Row& row);
  /// The encoding of a row given as one view per table column (empty: the row lacks it), each
  /// the value in the key encoding (`laredo/memory/key.hpp`: kind byte, payload), as a snapshot
  /// file stores it: the bulk load of a restore, without building `Value`s. `columns` has one
  /// view per table column; the caller checked the views.
  std::string_view EncodeKeyed(std::span<const std::string_view> columns);
  /// Appends the canonical key (`laredo/memory/key.hpp`) of `columns` of `row`; false when one of
  /// them is missing or unchanged.
  bool KeyOfRow(const Row& row, const std::vector<std::uint32_t>& columns, std::string& out);
  /// Like `KeyOfRow` but finds the columns by name, without touching the caches.
  bool KeyOfRowByName(const Row& row, const std::vector<std::uint32_t>& columns,
                      std::string& out) const;
  /// Appends the canonical key of `columns` of a stored row.
  void AppendKeyOf(const std::uint8_t* data, const std::vector<std::uint32_t>& columns,
                   std::string& out) const;
  [[nodiscard]] Row Decode(const std::uint8_t* data) const;
  /// Bytes of a stored row.
  [[nodiscard]] std::size_t SizeOf(const std::uint8_t* data) const;

  /// Adds columns (ADD COLUMN answered Continue); positions of existing columns stay, so stored
  /// rows and index column numbers stay valid. Rows stored before read declared columns as NULL.
  void AddColumns(const std::vector<std::string>& names);
  [[nodiscard]] const ColumnNames& names() const { return *names_; }
  [[nodiscard]] std::size_t MemoryUsage() const;

 private:
  // Where each table column sits in rows that share one ColumnNames object.
  struct Layout {
    std::shared_ptr<const ColumnNames> names;  // keeps the pointer we compare against alive
    std::vector<int> table_to_row;             // -1: the row lacks that column
  };
  const Layout& LayoutOf(const Row& row);
  std::uint32_t SignatureOf(std::string_view kinds);
  /// The first payload byte after `data`'s signature, and the row's kind list.
  const std::uint8_t* Begin(const std::uint8_t* data, std::string_view& kinds) const;

  std::shared_ptr<const ColumnNames> names_;
  std::vector<bool> declared_;       // per name: a column of the table, not only of some rows
  std::vector<std::int64_t> bases_;  // per column: first integer stored (distances from it)
  std::vector<bool> has_base_;
  std::vector<std::string> signatures_;  // kind lists, by number
  std::unordered_map<std::string, std::uint32_t> signature_numbers_;
  std::uint32_t last_signature_ = 0;
  std::vector<Layout> layouts_;  // small cache: a source's rows share a few ColumnNames objects
  std::string kinds_scratch_;
  std::string scratch_;
};

}  // namespace laredo::memory
