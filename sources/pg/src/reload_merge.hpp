#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "laredo/change_event.hpp"
#include "laredo/row.hpp"
#include "laredo/table_identifier.hpp"
#include "pg_snapshot.hpp"

namespace laredo::pg {

/// The pure half of reloading one table while its stream flows (Netflix's DBLog, as in
/// Debezium's incremental snapshots). The table is read in chunks; a chunk's window opens where
/// the stream stands at its read and closes at a high watermark committed to the WAL after it
/// (see `ReloadRunner` for why not at a low watermark); the target builds the table's new
/// contents from nothing while the other tables stream on. This class decides, in stream order,
/// what reaches that copy:
///
/// - **Outside a window**, a change of a row the copy does not hold yet is not delivered: the
///   chunk that reads the row later sees the change (its read's snapshot is checked to see every
///   transaction the stream delivered before it).
///   Exceptions, so nothing is lost: an insert, or an update carrying every column, is delivered
///   as an insert (it stands for the whole row, wherever its key sorts); an update without every
///   column (PostgreSQL's unchanged TOAST values) cannot, so its key is queued to be read again.
/// - **Inside a window**, a row of the chunk whose key the stream changed is dropped from the
///   chunk: the read may have seen it before or after that change, and the stream's event, in
///   order, wins. At the high watermark the rest of the chunk is delivered (as baseline rows,
///   upserts) and the copy holds those keys from then on.
/// - A truncate empties the copy: it holds nothing, and nothing is queued to be read again.
///
/// Which rows the copy holds is kept as a set of keys, not as a key range, so the order in which
/// the server sorts keys (a collation) never has to be reproduced here. Memory: one entry per row
/// of the table, for the reload's duration.
///
/// Threading contract: not thread-safe; one thread (the stream's) uses it.
class ReloadMerge {
 public:
  /// `key_columns`: the table's primary key, in key order.
  ReloadMerge(TableIdentifier table, std::vector<std::string> key_columns);

  /// A change from the stream, in stream order. Returns whether to deliver it; it may have been
  /// turned into an insert (see the class comment). Changes of other tables: true, untouched.
  /// Throws `laredo::DataError` ("row_shape") for a row without a key column.
  bool OnChange(ChangeEvent& change);

  /// A chunk was read, at this point of the stream. `rows`: what the chunk's read returned;
  /// `requested_again`: the keys (key columns only) that read asked for again, as
  /// `ReadAgain` listed them. Throws `std::logic_error` when a window is open already.
  /// `read`: the read's snapshot. A change whose transaction it saw is older than the chunk
  /// (the stream lags behind the read), so it leaves the chunk's row alone; without a snapshot,
  /// or for a change without a transaction id, every change counts as newer.
  void OpenWindow(std::vector<Row> rows, const std::vector<Row>& requested_again,
                  std::optional<PgSnapshot> read = std::nullopt);
  [[nodiscard]] bool window_open() const noexcept { return window_.has_value(); }
  /// The stream reached the chunk's high watermark: the rows to deliver, in read order.
  std::vector<Row> CloseWindow();
  /// The chunk will never be merged (its stream ended before its high watermark): its rows are
  /// dropped and the keys its read asked for again are asked for again. No-op without a window.
  void AbandonWindow();

  /// Continues a reload after a restart (see `ReloadCheckpoint`): `read_again` are the keys the
  /// checkpoint had queued. The copy then holds rows this merge does not know of (those merged
  /// before the restart), so, until a truncate empties it: a delete is always delivered (of a row
  /// the copy may lack: targets that keep state accept that), an update of a row not known to be
  /// held that moves its key stays an update when it carries every column and is delivered as a
  /// delete of the old key otherwise (the new key is read again), so no row stays behind at a
  /// key it left. Call before the first change.
  void Resume(std::vector<Row> read_again);
  [[nodiscard]] bool resumed() const noexcept { return resumed_; }

  /// Up to `max` keys (key columns only) to read again in the next chunk.
  [[nodiscard]] std::vector<Row> ReadAgain(std::size_t max) const;
  [[nodiscard]] bool read_again_empty() const noexcept { return read_again_.empty(); }
  /// Rows the copy holds.
  [[nodiscard]] std::size_t held() const noexcept { return held_.size(); }

  /// The key of `row` as one string (length-prefixed values, so composite keys never run
  /// together). Throws `laredo::DataError` ("row_shape") for a row without a key column.
  [[nodiscard]] std::string KeyOf(const Row& row) const;
  /// `row`'s key columns only.
  [[nodiscard]] Row KeyRow(const Row& row) const;

 private:
  struct Window {
    std::vector<Row> rows;
    std::vector<Row> requested_again;  // given back by AbandonWindow
    std::set<std::string> changed;     // keys the stream changed after the read
    bool truncated = false;
    std::optional<PgSnapshot> read;
  };
  /// `change` touched `key`: inside a window, the chunk's row of it is dropped unless the read
  /// saw the change already.
  void NoteInWindow(const std::string& key, const ChangeEvent& change) {
    if (!window_) return;
    if (window_->read && change.transaction_id &&
        window_->read->Sees(static_cast<std::uint32_t>(*change.transaction_id))) {
      return;
    }
    window_->changed.insert(key);
  }

  const TableIdentifier table_;
  const std::vector<std::string> key_columns_;
  std::unordered_set<std::string> held_;             // keys of the rows the copy holds
  std::unordered_map<std::string, Row> read_again_;  // key -> key columns
  std::optional<Window> window_;
  bool resumed_ = false;  // see Resume
};

}  // namespace laredo::pg
