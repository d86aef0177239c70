#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "laredo/change_event.hpp"
#include "laredo/column_definition.hpp"
#include "laredo/row.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo {

class SyncSource;

/// One stream change as it reaches a target, after the pipeline's filters and transforms, with
/// where it came from. A view: valid only during the `SyncTarget::OnChanges` call that passes it.
struct TargetChange {
  /// What to do. May differ from the source event's action: an update whose new row no longer
  /// passes a filter arrives as a Delete.
  ChangeAction action = ChangeAction::Insert;
  /// The row to store (Insert, Update), after transforms; null for Delete and Truncate.
  const Row* row = nullptr;
  /// The row's identity before the change (Update, Delete): its key columns at least, after
  /// transforms; null for Insert and Truncate.
  const Row* identity = nullptr;
  /// The source's event (rows as the source sent them): its position, commit time, transaction id
  /// and whether it ends its source transaction (`ChangeEvent::ends_transaction`).
  const ChangeEvent* event = nullptr;
  /// The engine's number for this change: increasing within one engine run for every change of
  /// the source (a target sees a subsequence), and what `DurabilityReporter::Durable` takes. Not
  /// stable across restarts: deduplicate redeliveries by `event->position`.
  std::uint64_t ticket = 0;
  /// The source that produced the change, for `PositionString`.
  SyncSource* source = nullptr;

  /// The change's position as its source prints it (e.g. PostgreSQL's "0/16B3748"). Computed on
  /// each call.
  [[nodiscard]] std::string PositionString() const;
};

/// How a target that makes changes durable in the background tells the engine so, instead of
/// (or besides) answering `SyncTarget::IsDurable` when polled. The engine implements it.
/// Thread-safe: call it from any thread, also from inside a target method.
class DurabilityReporter {
 public:
  virtual ~DurabilityReporter() = default;
  /// Every change this target was given with a ticket at or below `ticket` (and the baselines
  /// completed before it) is durable. The ACK may pass them at once; no polling delay.
  virtual void Durable(std::uint64_t ticket) = 0;
};

/// What a target wants the engine to do after a table's columns changed.
struct SchemaChangeResponse {
  enum class Action { Continue, ReBaseline, Error };
  Action action = Action::Continue;
  /// Why; required with `Error`, shown in logs and the observer.
  std::string message{};
};

/// Where a pipeline's rows go.
///
/// Call order per table: `OnInit`, then a baseline (`OnBaselineBegin`, `OnBaselineRow`...,
/// `OnBaselineComplete`) unless the engine resumes, then changes, then `OnClose`. A re-baseline
/// (after a lost stream, a slot invalidation or a schema change) is another `OnBaselineBegin` ...
/// `OnBaselineComplete`, with the columns as they are now, so stale rows and dropped columns go.
/// A baseline that fails part-way is started again with a new `OnBaselineBegin`.
///
/// Unchanged values: a source may send `Value::Unchanged()` for a column it did not transmit
/// (PostgreSQL's unchanged TOAST values). The engine fills them in from the change's old row, or,
/// when the target can read its rows (`CanReadRows`), from the target's copy; when it cannot fill
/// them for a target that reads its rows or a pipeline with filters or transforms, it reloads the
/// table (`ReloadableSource`) or re-baselines (once: the same update unfillable after that
/// re-baseline is a `DataError`, see docs/writing-a-target.md).
/// So only a target that does not read its rows and has no filters or transforms in front of it
/// can see the marker: it means "keep the value you have".
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

  /// A batch of consecutive stream changes of `table`, in source order (each with its metadata,
  /// see `TargetChange`). The engine delivers every stream change through this method; the default
  /// calls `OnInsert`, `OnUpdate`, `OnDelete` and `OnTruncate` one change at a time. A target that
  /// writes to another system overrides it to write one request or transaction per batch, or per
  /// source transaction (`event->ends_transaction`). Baseline rows do not come through here.
  ///
  /// Failures: when the call throws, the engine applies the same changes again, one per call
  /// (spans of one), each with the pipeline's retries and error policy, so the one that fails is
  /// retried, dead-lettered or skipped alone. A target that applied part of the batch before
  /// failing throws `PartialBatchError` saying how many (the default implementation does), and
  /// the engine goes on from the change that failed, counting that failure as its first attempt;
  /// otherwise it must accept a change it already applied (its position tells it).
  virtual void OnChanges(const TableIdentifier& table, std::span<const TargetChange> changes);

  /// Called before `OnInit` with an object the target may keep until `OnClose` returns to report
  /// durability as it happens (see `DurabilityReporter`). A target bound to several pipelines
  /// is called once per pipeline, with no way to tell the reporters apart: such a target should
  /// answer `IsDurable` instead. Default: ignored.
  virtual void SetDurabilityReporter(DurabilityReporter* reporter) { (void)reporter; }

  /// True when everything applied so far is durable, so the source may release it. A target whose
  /// contents are rebuilt from a baseline on every start (any in-memory target) returns true.
  /// Polled after each applied batch and every 20 ms while applied changes wait to become durable;
  /// a target that reports through `DurabilityReporter` may return false until it has flushed.
  virtual bool IsDurable() = 0;

  /// True when the target's contents survive a restart of the process, so the engine may resume a
  /// source from its last acknowledged position without a baseline. Default false. A target that
  /// keeps state must answer false while a baseline it began has not completed (its contents are
  /// then neither the old nor the new table), so that a restart baselines again; a reload it holds
  /// a checkpoint of is the one exception (see `OnReloadCheckpoint`).
  virtual bool KeepsStateAcrossRestarts() { return false; }

  /// Reload checkpoints (docs/writing-a-target.md, "Reload checkpoints"): while the engine reloads
  /// the table as the stream flows (`OnBaselineBegin` while streaming), the source marks points
  /// from which a restarted process may continue the reload instead of beginning it again. A
  /// target that keeps state stores `checkpoint` with the rows applied before it (atomically with
  /// them, or after them), forgets it at the next `OnBaselineBegin` and at `OnBaselineComplete`,
  /// and reports the one it holds from `ReloadCheckpoint`; while it holds one it may answer
  /// `KeepsStateAcrossRestarts` true although its reload has not completed. The engine then
  /// continues the reload after a restart (the copy being built must be kept, too), or reloads the
  /// table from nothing when the source cannot. Defaults: ignored, none.
  virtual void OnReloadCheckpoint(const TableIdentifier& table, const std::string& checkpoint) {
    (void)table;
    (void)checkpoint;
  }
  /// The checkpoint this target holds for `table` (see `OnReloadCheckpoint`). Asked once at start
  /// before a resume without a baseline, as `KeepsStateAcrossRestarts` is, from the engine's
  /// thread for the source: it may run while `OnInit` does, so guard what both touch.
  virtual std::optional<std::string> ReloadCheckpoint(const TableIdentifier& table) {
    (void)table;
    return std::nullopt;
  }

  /// True when `ReadRow` answers; the engine then fills Unchanged values from the target's rows.
  /// Default false.
  virtual bool CanReadRows() { return false; }
  /// The row the target holds for `identity` (whose key columns identify it; the values as the
  /// target stored them, after transforms), or nullopt when it holds none: in the copy changes go
  /// to, which during a reload of the table (`OnBaselineBegin` while the stream flows) is the new
  /// one being built. Called from the worker thread, like every other method.
  virtual std::optional<Row> ReadRow(const TableIdentifier& table, const Row& identity) {
    (void)table;
    (void)identity;
    return std::nullopt;
  }

  virtual SchemaChangeResponse OnSchemaChange(const TableIdentifier& table,
                                              const std::vector<ColumnDefinition>& old_columns,
                                              const std::vector<ColumnDefinition>& new_columns) = 0;

  /// The pipeline stops (engine stop or isolation). `IsDurable` is asked once more afterwards, so a
  /// target that flushes here has its last changes acknowledged by the final ACK.
  virtual void OnClose(const TableIdentifier& table) = 0;
};

}  // namespace laredo
