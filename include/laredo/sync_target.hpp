#pragma once

#include <string>
#include <vector>

#include "laredo/column_definition.hpp"
#include "laredo/row.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo {

/// What a target wants the engine to do after a table's columns changed.
struct SchemaChangeResponse {
  enum class Action { Continue, ReBaseline, Error };
  Action action = Action::Continue;
  /// Why; required with `Error`, shown in logs and the observer.
  std::string message;
};

/// Where a pipeline's rows go.
///
/// Call order per table: `OnInit`, baseline rows (`OnBaselineRow` ... `OnBaselineComplete`), then
/// changes, then `OnClose`. A re-baseline (after a lost stream or a schema change) calls
/// `OnTruncate` and then the baseline rows again, so stale rows disappear.
///
/// Threading contract: the engine calls a target from its pipeline's worker thread only, never
/// concurrently; a target bound to several pipelines is called from one pipeline at a time.
/// Throwing from any method reports a failure that the pipeline's error policy handles (retry,
/// dead letter, isolate, stop). `laredo::FatalError` and `laredo::DataError` skip the retries:
/// the same call would fail the same way.
class SyncTarget {
 public:
  virtual ~SyncTarget() = default;

  virtual void OnInit(const TableIdentifier& table,
                      const std::vector<ColumnDefinition>& columns) = 0;
  /// A baseline of `table` starts: the rows that follow (up to `OnBaselineComplete`) are the whole
  /// table, and `columns` are the columns they carry (they may differ from `OnInit`'s after a
  /// schema change). Called before every baseline, the first one included, so a target that kept
  /// rows from an earlier run can tell them from the new ones. The default calls `OnTruncate`; a
  /// target that must keep serving its old rows until the new ones are complete builds the new
  /// contents aside and swaps them in at `OnBaselineComplete` (as `memory::IndexedTarget` does).
  virtual void OnBaselineBegin(const TableIdentifier& table,
                               const std::vector<ColumnDefinition>& columns) {
    (void)columns;
    OnTruncate(table);
  }
  virtual void OnBaselineRow(const TableIdentifier& table, const Row& row) = 0;
  virtual void OnBaselineComplete(const TableIdentifier& table) = 0;
  virtual void OnInsert(const TableIdentifier& table, const Row& row) = 0;
  /// `identity` holds at least the key columns of the row before the update (all columns when the
  /// source knows them); `new_row` may hold `Value::Unchanged()` columns to keep as they were.
  virtual void OnUpdate(const TableIdentifier& table, const Row& new_row, const Row& identity) = 0;
  virtual void OnDelete(const TableIdentifier& table, const Row& identity) = 0;
  virtual void OnTruncate(const TableIdentifier& table) = 0;

  /// True when everything applied so far is durable, so the source may release it. A target whose
  /// contents are rebuilt from a baseline on every start (any in-memory target) returns true.
  /// Polled after each applied batch and periodically while changes wait to become durable.
  virtual bool IsDurable() = 0;

  /// True when the target's contents survive a restart of the process, so the engine may resume a
  /// source from its last acknowledged position without a baseline. Default false.
  virtual bool KeepsStateAcrossRestarts() { return false; }

  virtual SchemaChangeResponse OnSchemaChange(const TableIdentifier& table,
                                              const std::vector<ColumnDefinition>& old_columns,
                                              const std::vector<ColumnDefinition>& new_columns) = 0;

  virtual void OnClose(const TableIdentifier& table) = 0;
};

}  // namespace laredo
