#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/row.hpp"
#include "memory/slot_index.hpp"

namespace laredo::memory {

/// One table's rows and indexes: packed rows in slots, the primary-key index and the secondary
/// indexes. `IndexedTarget` keeps the live store and, during a re-baseline, a second one that it
/// builds aside and swaps in. Not thread-safe: the owner locks.
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
  /// The stored row for `identity`'s key, if any.
  [[nodiscard]] std::optional<Row> Find(const Row& identity) const;
  [[nodiscard]] std::optional<Row> Get(const std::vector<Value>& primary_key) const;
  [[nodiscard]] std::vector<Row> LookupAll(const std::string& index,
                                           const std::vector<Value>& values) const;
  [[nodiscard]] std::vector<Row> All() const;
  /// Calls `fn(row)` for every row, decoded.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
      if (slots_[slot]) fn(Decode(slot));
    }
  }
  /// Adds columns (schema change answered Continue); existing rows stay valid.
  void AddColumns(const std::vector<ColumnDefinition>& columns);

  [[nodiscard]] const std::vector<ColumnDefinition>& columns() const { return columns_; }
  [[nodiscard]] std::size_t count() const { return count_; }
  [[nodiscard]] std::size_t MemoryUsage() const;
  /// Rows that share a unique-index key with another live row (the source held duplicates).
  [[nodiscard]] std::size_t ShadowedCount() const;

 private:
  struct Secondary {
    IndexDefinition definition;
    std::vector<std::uint32_t> columns;
    SlotIndex unique;  // unique indexes: key -> the row written last with that key
    // Unique indexes over rows that (briefly, or by the source's choice) share a key: the other
    // holders, so deleting the newest one falls back to them instead of forgetting a live row.
    std::unordered_map<std::string, std::unordered_set<std::uint32_t>> shadowed;
    std::unordered_map<std::string, std::unordered_set<std::uint32_t>> multi;  // non-unique
  };
  // Where each table column sits in rows that share one ColumnNames object.
  struct RowShape {
    std::shared_ptr<const ColumnNames> names;  // keeps the pointer we compare against alive
    std::vector<int> table_to_row;             // -1: the row lacks that column
  };

  const RowShape& ShapeOf(const Row& row);
  std::string KeyOfRow(const Row& row, const std::vector<std::uint32_t>& cols, bool* complete);
  std::string PrimaryKeyOf(const Row& row);
  std::unique_ptr<std::uint8_t[]> Encode(const Row& row);
  static std::string KeyOfSlotData(const std::uint8_t* data,
                                   const std::vector<std::uint32_t>& cols);
  static void AppendKeyOfSlotData(const std::uint8_t* data, const std::vector<std::uint32_t>& cols,
                                  std::string& key);
  [[nodiscard]] Row Decode(std::uint32_t slot) const;
  [[nodiscard]] std::uint32_t FindSlot(const std::string& key) const;
  [[nodiscard]] std::uint32_t FindUnique(const Secondary& s, const std::string& key) const;
  void IndexSecondaries(std::uint32_t slot, bool add);
  std::uint32_t Store(std::unique_ptr<std::uint8_t[]> data, const std::string& key);
  void Replace(std::uint32_t slot, std::unique_ptr<std::uint8_t[]> data);
  void Remove(std::uint32_t slot, const std::string& key);
  [[nodiscard]] const Secondary& SecondaryNamed(const std::string& index) const;

  TableIdentifier table_;
  std::vector<ColumnDefinition> columns_;
  std::shared_ptr<const ColumnNames> names_;
  std::vector<bool> declared_;  // per name: a column of the table, not only of some rows
  std::vector<std::uint32_t> key_columns_;
  std::vector<Secondary> secondaries_;
  std::vector<std::unique_ptr<std::uint8_t[]>> slots_;
  std::vector<std::uint32_t> free_slots_;
  SlotIndex primary_;
  std::size_t count_ = 0;
  std::size_t row_bytes_ = 0;
  std::vector<RowShape> shapes_;  // small cache: a source's rows share a few ColumnNames objects
  std::string scratch_;
};

}  // namespace laredo::memory
