#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "laredo/change_event.hpp"
#include "laredo/row.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo::pg {

/// The merge at the heart of a table snapshot taken while the stream flows (Netflix's DBLog, as in
/// Debezium's incremental snapshots): a chunk of a table is read (`SELECT ... ORDER BY key LIMIT
/// n`) after a low watermark and before a high watermark are committed, and the stream between
/// the two watermarks decides which of its rows may still be delivered. A row whose key the
/// stream changed inside the window is dropped from the chunk: the read may have seen the row
/// before or after that change, the stream's event is in order, so the event wins. What is left
/// is delivered at the high watermark, before the stream goes on, as upserts.
///
/// An update inside the window that does not carry every column (PostgreSQL's unchanged TOAST
/// values) cannot stand for the row in a copy being built from nothing: its key is dropped and
/// listed to be read again in a later chunk. A truncate of the table inside the window drops the
/// whole chunk (what the table holds after it arrives through the stream).
///
/// Pure: no I/O. Threading contract: not thread-safe; one thread (the stream's) uses it.
class ChunkWindow {
 public:
  /// `key_columns`: the table's primary key, in key order.
  ChunkWindow(TableIdentifier table, std::vector<std::string> key_columns);

  /// The chunk's rows, as the read returned them (before the high watermark is committed, so
  /// before the stream can reach it). Throws `laredo::DataError` ("row_shape") for a row without
  /// a key column.
  void SetRows(std::vector<Row> rows);
  /// A change the stream delivered between the two watermarks. Other tables' changes are ignored.
  void OnChange(const ChangeEvent& change);

  struct Result {
    /// The rows to deliver, in the order the read returned them.
    std::vector<Row> rows;
    /// Keys (key columns only) of rows to read again: updates without every column.
    std::vector<Row> read_again;
  };
  /// At the high watermark: what the chunk contributes. Once only.
  [[nodiscard]] Result Close();

 private:
  [[nodiscard]] std::string KeyOf(const Row& row) const;
  [[nodiscard]] Row KeyRow(const Row& row) const;

  const TableIdentifier table_;
  const std::vector<std::string> key_columns_;
  std::vector<Row> rows_;
  std::set<std::string> changed_;  // keys the window changed: dropped from rows_ at Close
  std::map<std::string, Row> read_again_;
  bool truncated_ = false;
  bool closed_ = false;
};

}  // namespace laredo::pg
