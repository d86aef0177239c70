#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/row.hpp"
#include "laredo/sync_target.hpp"
#include "laredo/table_identifier.hpp"
#include "value_mapping.hpp"

// Stream changes -> contract records (docs/kinesis-data-contract.md, "Stream records"): the
// publisher's side of contract.cpp's `Decoder`, with the same value mapping. Pure; no I/O.
namespace laredo::kinesis::contract {

/// One Kinesis record to write.
struct EncodedRecord {
  std::string partition_key;
  std::string data;
  /// Ordered against every other record, not only its key's (a truncate): written after every
  /// record before it and before any record after it (see `PutPlanner`).
  bool fence = false;

  /// What Kinesis counts against its record and request limits.
  [[nodiscard]] std::size_t Bytes() const noexcept { return partition_key.size() + data.size(); }
};

/// The longest partition key Kinesis takes; longer keys are replaced by a digest (see
/// `PartitionKeyFor`).
inline constexpr std::size_t kMaxPartitionKey = 256;

/// The primary-key columns in key order: by `primary_key_ordinal`, unnumbered ones in column order
/// (as the manifest numbers them). Empty for a table without a primary key.
std::vector<std::string> KeyColumnNames(const std::vector<ColumnDefinition>& columns);

/// Encodes one table's changes. Immutable after construction; const calls are thread-safe.
///
/// Partition keys: "schema.table:" followed by the primary-key values (`Value::ToString`, joined
/// by ','), so every change of one row lands on one shard in order; the table name alone for a
/// table without a primary key, for a truncate, and for every record of a table constructed with
/// `partition_by_table` (the contract's remedy for tables that are truncated). A key longer than
/// 256 bytes becomes "schema.table#" plus the SHA-256 of the whole key text: still one key per row.
class RecordEncoder {
 public:
  RecordEncoder(TableIdentifier table, const std::vector<ColumnDefinition>& columns,
                bool partition_by_table);

  /// Appends the records of `change` to `out`: one record, or two for an update that changes the
  /// primary key and has every value (a delete under the old key and an insert under the new one,
  /// so that each orders with the history of its own key on its own shard). Throws
  /// `laredo::DataError` ("unencodable_value") for a value the contract cannot carry, naming the
  /// column; `out` is left as it was then.
  void Encode(const TargetChange& change, std::vector<EncodedRecord>& out) const;

  /// "schema.table".
  [[nodiscard]] const std::string& TableName() const noexcept { return table_name_; }

  /// A row as one line of a table object (docs/kinesis-data-contract.md, "Table objects"), without
  /// the newline; the same value mapping as the records. Throws `DataError` as `Encode` does.
  [[nodiscard]] std::string RowLine(const Row& row) const;

  /// The partition key of a row (its key columns are read).
  [[nodiscard]] std::string PartitionKeyFor(const Row& row) const;

 private:
  [[nodiscard]] nlohmann::json RowJson(const Row& row, bool allow_unchanged,
                                       std::string_view what) const;
  [[nodiscard]] std::string Record(const char* action, const TargetChange& change,
                                   const Row* new_row, const Row* old_row, bool new_may_omit) const;
  [[nodiscard]] bool KeyChanged(const Row& row, const Row& identity) const;
  [[nodiscard]] ColumnKind KindOf(std::string_view column) const;

  TableIdentifier table_;
  std::string table_name_;  // "schema.table"
  std::vector<std::string> names_;
  std::vector<ColumnKind> kinds_;
  std::vector<std::string> key_columns_;  // in key order
  bool partition_by_table_;
};

}  // namespace laredo::kinesis::contract
