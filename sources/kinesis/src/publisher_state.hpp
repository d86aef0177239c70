#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/row.hpp"
#include "laredo/sync_target.hpp"
#include "laredo/table_identifier.hpp"

// The publisher's replica: every table's current rows, kept from the baseline rows and every
// change it publishes, so that a snapshot can be written from it. Pure bookkeeping; no I/O.
namespace laredo::kinesis::publish {

/// One table's rows at one moment, shared with the state it was copied from (rows are immutable).
struct TableCopy {
  std::vector<ColumnDefinition> columns;
  std::vector<std::shared_ptr<const Row>> rows;
};

/// Every table's rows at one moment.
using StateCopy = std::map<TableIdentifier, TableCopy>;

/// The rows of every table the publisher writes, keyed by primary key (by every column for a
/// table without one). Memory is the replica's size: every row of every table is held.
///
/// - an insert stores its row (an existing row of its key is replaced);
/// - an update finds the row by its identity (else by its new row's key), fills the unchanged
///   (TOAST) columns from it and stores the result under the new row's key, removing the old key
///   when the key changed;
/// - a delete removes the identity's row; a truncate removes every row of its table;
/// - `BeginBaseline` empties a table, its baseline rows are inserts.
///
/// A table is complete once a baseline of it ended in this process (`CompleteBaseline`): only
/// complete tables can go into a snapshot, a table whose rows were never loaded would be written
/// empty. An update with unchanged columns of a row it does not hold cannot happen when the state
/// is complete: it is stored with those columns NULL, logged and counted (`Anomalies`).
///
/// Not thread-safe: the publisher serialises access.
class ReplicaState {
 public:
  void SetColumns(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns);
  void BeginBaseline(const TableIdentifier& table);
  void CompleteBaseline(const TableIdentifier& table);
  /// A baseline (or restore) that failed: the table is empty and unloaded again.
  void AbandonBaseline(const TableIdentifier& table);
  /// False (nothing changed) for an unloaded table: its rows are not known yet.
  bool Apply(const TableIdentifier& table, const TargetChange& change);
  void ApplyBaselineRow(const TableIdentifier& table, Row row);

  /// Tables known (`SetColumns`) but not complete: a snapshot now would be wrong for them.
  [[nodiscard]] std::vector<TableIdentifier> IncompleteTables() const;
  /// Incomplete tables without a baseline under way (a resumed pipeline): their rows can only be
  /// restored (state_restorer.hpp).
  [[nodiscard]] std::vector<TableIdentifier> UnloadedTables() const;
  /// Every known table's columns.
  [[nodiscard]] std::map<TableIdentifier, std::vector<ColumnDefinition>> Columns() const;
  /// Every table's rows and columns; O(rows) pointer copies, the rows themselves are shared.
  [[nodiscard]] StateCopy Copy() const;
  [[nodiscard]] std::size_t RowCount(const TableIdentifier& table) const;
  /// The table's columns were set.
  [[nodiscard]] bool Knows(const TableIdentifier& table) const { return tables_.contains(table); }
  /// Updates with unchanged columns of a row not held (stored with those columns NULL).
  [[nodiscard]] std::uint64_t Anomalies() const noexcept { return anomalies_; }

 private:
  struct Table {
    std::vector<ColumnDefinition> columns;
    std::vector<std::string> key_columns;  // every column when the table has no primary key
    bool complete = false;
    bool loading = false;  // a baseline is under way
    std::map<std::string, std::shared_ptr<const Row>> rows;
  };

  Table& TableOf(const TableIdentifier& table);
  [[nodiscard]] static std::string KeyOf(const Table& t, const Row& row);
  static void Upsert(Table& t, Row row);
  void Update(const TableIdentifier& table, Table& t, const Row& row, const Row* identity);
  void Delete(const TableIdentifier& table, Table& t, const Row& identity);

  std::map<TableIdentifier, Table> tables_;
  std::uint64_t anomalies_ = 0;
};

}  // namespace laredo::kinesis::publish
