#pragma once

#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/snapshot/streams.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo::snapshot {

/// A target whose contents can be written to a snapshot and read back, instead of being rebuilt
/// by a baseline at every start (`memory::IndexedTarget` and `memory::TypedTarget<T>` implement
/// it). The engine (docs/snapshots.md) calls `ExportColumns` and `Export` on the target's
/// pipeline thread when the pipeline reaches a snapshot barrier, and at start `Restore` in place
/// of a baseline.
///
/// Threading contract: `Export` may run while readers read the target (each implementation says
/// how it gets a consistent copy) but not while the target is written: the caller pauses the
/// writer (the pipeline). `Restore` is a write: it runs where the target's writes run (the
/// pipeline's thread, or before the engine starts), readers may read meanwhile and see the old
/// contents until it swaps the new ones in.
class SnapshotCapable {
 public:
  virtual ~SnapshotCapable() = default;

  /// The columns `Export`'s rows carry, as the table's file header records them. Throws
  /// `laredo::Error` ("wrong_table") for a table the target does not hold.
  [[nodiscard]] virtual std::vector<ColumnDefinition> ExportColumns(
      const TableIdentifier& table) const = 0;
  /// Writes every row of `table` to `out`: one consistent copy, never a write half applied.
  /// Throws `laredo::Error` ("snapshot_not_ready") while the target's baseline is incomplete (a
  /// snapshot of it would be neither the old table nor the new one).
  virtual void Export(const TableIdentifier& table, RowWriter& out) const = 0;
  /// Replaces the contents with the rows of `rows` (with `columns`) all or nothing: when `rows`
  /// throws (a corrupt file) or a row is refused, the target keeps what it had. Afterwards the
  /// target holds a complete baseline of `table`, as after `OnBaselineComplete`. May be called
  /// before `OnInit`: it binds the target to `table` as `OnInit` does.
  virtual void Restore(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns,
                       RowReader& rows) = 0;
};

}  // namespace laredo::snapshot
