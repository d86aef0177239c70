#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "laredo/memory/event.hpp"
#include "laredo/snapshot/snapshot_capable.hpp"
#include "laredo/sync_target.hpp"

namespace laredo::memory {

/// A secondary index over one or more columns.
struct IndexDefinition {
  std::string name{};
  std::vector<std::string> columns{};
  /// A unique index answers `Lookup` with one row per key. The replica never rejects or forgets a
  /// row for sharing a key (the source decides what is valid: a deferred constraint inside a
  /// transaction, a filter or transform, a source without constraints): when several live rows
  /// hold one key, `Lookup` returns the one written last, `LookupAll` returns all of them, and
  /// deleting one leaves the others findable. Default false.
  bool unique = false;
};

/// Options of `IndexedTarget`.
struct IndexedTargetOptions {
  /// Secondary indexes. Default none; `AddIndex` adds more before the engine starts.
  std::vector<IndexDefinition> indexes{};
};

/// The two-argument listener of earlier versions, kept working: `old_row` is empty for inserts and
/// baseline rows, `new_row` is empty for deletes; a truncate calls it once per removed row; it
/// never hears `BaselineBegin`/`BaselineEnd`. Prefer `RowListener`, which says what happened.
using ChangeListener =
    std::function<void(const std::optional<Row>& old_row, const std::optional<Row>& new_row)>;

/// An in-memory replica of one table, indexed by primary key and by any secondary indexes.
///
/// Rows are stored encoded (about one byte of kinds per row, varint integers and lengths, column
/// names once per table) in slab arenas, and the key indexes are open-addressing tables of 4-byte
/// row slots, so a million rows cost little more than their data. Inserts of an existing key and
/// updates of a missing row are applied as upserts, so a change delivered twice leaves the same
/// result; an update whose key changes moves the row.
///
/// Re-baselines (a lost slot, an invalidation, a schema change) never empty the replica under its
/// readers: the new contents are built aside, with the columns and key the baseline delivers, and
/// swapped in at once when complete. Until then readers see the old rows; the cost is memory for
/// both copies during the reload (see `MemoryUsage`). A baseline that fails leaves the old rows.
/// Columns the source sent as unchanged (TOAST) keep the stored value; a marker is never stored.
///
/// Events (`AddListener(RowListener)`), each after the change is applied and visible to readers:
/// - A baseline into an empty replica (the first one, or after a truncate): `BaselineBegin`, then
///   per baseline row `Insert` (`Update` when the baseline repeats a key), then `BaselineEnd`,
///   all with `baseline == true`.
/// - A baseline of a replica that holds rows (a re-baseline): `BaselineBegin`; nothing while the
///   new contents are built aside; at completion they are swapped in and listeners hear the net
///   difference, `Insert` for rows added, `Update` for rows whose values changed and `Delete` for
///   rows gone (rows that stayed the same are not reported; added and changed rows first, in no
///   particular order, then the removed ones), with `baseline == true`; then
///   `BaselineEnd`. A baseline that fails part-way and starts again sends another
///   `BaselineBegin`; an in-place one that failed part-way has reported its rows, and its retry
///   (now a re-baseline) reports the difference from them.
/// - `OnInsert`, `OnUpdate`, `OnDelete`: one `Insert`, `Update` or `Delete` with `baseline ==
///   false`; a delete of a row the replica does not hold sends nothing. An update that moves a
///   row to a new key is one `Update` (`before` has the old key).
/// - `OnTruncate`: one `Truncate` event, however many rows went (none while a baseline builds
///   aside: the swap's difference covers it).
///
/// Snapshots (`snapshot::SnapshotCapable`): `Export` decodes every row under the read lock, so
/// readers go on and a write waits until the export is done; `Restore` builds the new contents
/// aside at memory speed (no listener hears the rows one by one) and swaps them in at once, then
/// listeners hear `BaselineBegin` and `BaselineEnd` (`baseline == true`) and nothing between:
/// a listener that keeps a copy re-reads `All()` at `BaselineEnd`. Two-argument listeners hear
/// nothing of a restore. A restore that fails leaves the target as it was and tells no one.
///
/// Threading contract: the engine writes from one pipeline thread; any number of reader threads
/// may call the read methods (`Get`, `Lookup`, `LookupAll`, `All`, `Count`, `Columns`) at the same
/// time; readers see each change whole. Listeners may be added and removed from any thread; they
/// run on the writing thread, outside the target's lock, in the order the changes were applied.
class IndexedTarget final : public SyncTarget, public snapshot::SnapshotCapable {
 public:
  explicit IndexedTarget(IndexedTargetOptions options = {});
  ~IndexedTarget() override;

  /// Adds a secondary index; before the engine starts. Throws `ConfigError` for an empty or
  /// duplicate name.
  void AddIndex(IndexDefinition index);
  /// Adds a listener of every event (see the class comment for their order); returns an id for
  /// `RemoveListener`.
  std::uint64_t AddListener(RowListener listener);
  /// Adds a two-argument listener (see `ChangeListener`).
  std::uint64_t AddListener(ChangeListener listener);
  void RemoveListener(std::uint64_t id);

  /// The row with this primary key (values in primary-key order), if present.
  [[nodiscard]] std::optional<Row> Get(const std::vector<Value>& primary_key) const;
  /// The row whose `index` columns equal `values`: for a unique index, or the first match of a
  /// non-unique one. Throws `laredo::Error` (code "no_such_index") for an unknown index.
  [[nodiscard]] std::optional<Row> Lookup(const std::string& index,
                                          const std::vector<Value>& values) const;
  /// Every row whose `index` columns equal `values`.
  [[nodiscard]] std::vector<Row> LookupAll(const std::string& index,
                                           const std::vector<Value>& values) const;
  /// Every row, in no particular order.
  [[nodiscard]] std::vector<Row> All() const;
  [[nodiscard]] std::size_t Count() const;
  /// The columns of the rows readers see, as the source described them (empty before `OnInit`;
  /// after a re-baseline, those of the new baseline).
  [[nodiscard]] std::vector<ColumnDefinition> Columns() const;
  /// Whether the baseline has been applied completely.
  [[nodiscard]] bool BaselineComplete() const;
  /// Bytes of row data and index tables held, for sizing (excludes allocator overhead); during a
  /// re-baseline both the old and the new copy count.
  [[nodiscard]] std::size_t MemoryUsage() const;

  // --- SyncTarget -------------------------------------------------------------------------
  void OnInit(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns) override;
  void OnBaselineBegin(const TableIdentifier& table,
                       const std::vector<ColumnDefinition>& columns) override;
  void OnBaselineRow(const TableIdentifier& table, const Row& row) override;
  void OnBaselineComplete(const TableIdentifier& table) override;
  void OnInsert(const TableIdentifier& table, const Row& row) override;
  void OnUpdate(const TableIdentifier& table, const Row& new_row, const Row& identity) override;
  void OnDelete(const TableIdentifier& table, const Row& identity) override;
  void OnTruncate(const TableIdentifier& table) override;
  bool IsDurable() override { return true; }
  bool CanReadRows() override { return true; }
  std::optional<Row> ReadRow(const TableIdentifier& table, const Row& identity) override;
  SchemaChangeResponse OnSchemaChange(const TableIdentifier& table,
                                      const std::vector<ColumnDefinition>& old_columns,
                                      const std::vector<ColumnDefinition>& new_columns) override;
  void OnClose(const TableIdentifier& table) override;

  // --- snapshot::SnapshotCapable ----------------------------------------------------------
  [[nodiscard]] std::vector<ColumnDefinition> ExportColumns(
      const TableIdentifier& table) const override;
  void Export(const TableIdentifier& table, snapshot::RowWriter& out) const override;
  void Restore(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns,
               snapshot::RowReader& rows) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo::memory
