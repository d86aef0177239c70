#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/row.hpp"
#include "memory/primary_index.hpp"
#include "memory/row_codec.hpp"
#include "memory/secondary_index.hpp"
#include "memory/slot_storage.hpp"

namespace laredo::memory {

/// One table's rows and indexes: encoded rows in slots, the primary-key index and the secondary
/// indexes, kept consistent through every write. `IndexedTarget` keeps the live store and, during
/// a re-baseline, a second one that it builds aside and swaps in. Not thread-safe: the owner
/// locks (writes exclusively; the const methods may run on several threads together).
class RowStore {
 public:
  /// Throws `ConfigError` for a table without a primary key or an index on a missing column.
  RowStore(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns,
           const std::vector<IndexDefinition>& indexes);

  /// What a write did, for listeners: filled only when `listening`.
  struct Applied {
    std::optional<Row> old_row;
    std::optional<Row> new_row;
  };

  /// Insert-or-replace by the row's key.
  Applied Upsert(const Row& row, bool listening);
  /// Update by `identity`'s key (or the new row's); a missing row is inserted; a changed key moves
  /// the row. Unchanged values keep the stored ones; a row that cannot be completed that way is
  /// rejected (`DataError`), never stored with a marker.
  Applied Update(const Row& new_row, const Row& identity, bool listening);
  Applied Delete(const Row& identity, bool listening);
  // Bulk load into an empty store (a restore), in row_store_bulk.cpp: rows are stored as they
  // come and the primary index is built once at `EndBulk`, in hash order, instead of one random
  // index access per row. A key that repeats keeps its last row, as `Upsert` would. Between
  // `BeginBulk` and `EndBulk` only `AddBulk` and `AddBulkKeyed` may be called.
  void BeginBulk(std::size_t expected_rows);
  void AddBulk(const Row& row);
  /// A row as one view per table column in the key encoding (a snapshot file's bytes,
  /// `RowCodec::EncodeKeyed`); for a store whose columns are the table's only (`width`).
  void AddBulkKeyed(std::span<const std::string_view> columns);
  void EndBulk();
  /// How many columns the store's rows have (the declared ones, unless rows brought others).
  [[nodiscard]] std::size_t width() const { return codec_.names().size(); }
  /// Adds columns (schema change answered Continue); existing rows stay valid.
  void AddColumns(const std::vector<ColumnDefinition>& columns);

  /// The stored row for `identity`'s key, if any.
  [[nodiscard]] std::optional<Row> Find(const Row& identity) const;
  [[nodiscard]] std::optional<Row> Get(const std::vector<Value>& primary_key) const;
  /// Up to `limit` rows whose `index` columns equal `values` (a unique index's newest first).
  [[nodiscard]] std::vector<Row> LookupAll(const std::string& index,
                                           const std::vector<Value>& values,
                                           std::size_t limit = SIZE_MAX) const;
  [[nodiscard]] std::vector<Row> All() const;
  /// Calls `fn(row)` for every row, decoded.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    storage_.ForEach([&](std::uint32_t slot) { fn(codec_.Decode(storage_.Data(slot))); });
  }

  [[nodiscard]] const std::vector<ColumnDefinition>& columns() const { return columns_; }
  [[nodiscard]] std::size_t count() const { return storage_.count(); }
  [[nodiscard]] std::size_t MemoryUsage() const;

 private:
  [[nodiscard]] StoredRows Rows() const { return {storage_, codec_}; }
  std::string PrimaryKeyOf(const Row& row);
  [[nodiscard]] std::optional<Row> DecodeIf(std::uint32_t slot) const;
  std::uint32_t Store(std::string_view bytes, const std::string& key);
  void Replace(std::uint32_t slot, std::string_view bytes);
  void Remove(std::uint32_t slot, const std::string& key);
  [[nodiscard]] const SecondaryIndex& SecondaryNamed(const std::string& index) const;

  TableIdentifier table_;
  std::vector<ColumnDefinition> columns_;
  RowCodec codec_;
  SlotStorage storage_;
  PrimaryIndex primary_;
  std::vector<SecondaryIndex> secondaries_;
  void AddBulkEncoded(std::string_view bytes, const std::string& key);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> bulk_;  // (key hash, slot) until EndBulk
  std::string bulk_key_;
};

}  // namespace laredo::memory
