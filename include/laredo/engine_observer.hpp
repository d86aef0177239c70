#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "laredo/change_event.hpp"
#include "laredo/position.hpp"
#include "laredo/source_status.hpp"
#include "laredo/sync_target.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo {

struct DeadLetter;

/// The figures of one snapshot written or restored (see docs/snapshots.md).
struct SnapshotReport {
  std::string_view snapshot_id{};
  /// Rows of every table file written, or restored.
  std::uint64_t rows = 0;
  /// Bytes of those files.
  std::uint64_t bytes = 0;
  /// From the request to the commit (written), or from opening the snapshot to the last target
  /// restored (restored).
  std::chrono::nanoseconds duration{};
};

/// A pipeline's lifecycle phase.
enum class PipelineState : std::uint8_t {
  Pending,    ///< configured, source not initialised yet
  Baseline,   ///< receiving baseline rows
  Streaming,  ///< baseline done (or resumed); applying changes
  Paused,     ///< holding changes while its source is paused
  Error,      ///< stopped by its error policy; left the ACK computation
  Stopped,    ///< engine stopped
};

std::string_view ToString(PipelineState state) noexcept;

/// Hooks for metrics and logging. Every method has an empty default, so adding hooks later never
/// breaks an implementation. An engine takes several (`EngineOptions::observers`); each is called
/// in the order given.
///
/// Threading contract: called from the engine's source, pipeline and ACK threads, possibly at the
/// same time; implementations must be thread-safe and quick (`OnChangeApplied` runs once per
/// change on the hot path). They must not call back into the engine's `Stop()`.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;

  /// Once per pipeline at `Engine::Start`, before any other call about it: lets an observer map
  /// pipelines to their source and table, and show every series from the start.
  virtual void OnPipelineAdded(std::string_view pipeline_id, std::string_view source_id,
                               const TableIdentifier& table) {
    (void)pipeline_id, (void)source_id, (void)table;
  }
  /// When the state changes: sources that support it report changes made inside `Stream` (a
  /// reconnect) as they happen; the engine's own transitions (retrying, failed) likewise.
  virtual void OnSourceStateChanged(std::string_view source_id, SourceState state) {
    (void)source_id, (void)state;
  }
  virtual void OnPipelineStateChanged(std::string_view pipeline_id, PipelineState state) {
    (void)pipeline_id, (void)state;
  }
  /// A source starts reading `table` for a baseline; `estimated_rows` when the source can tell.
  virtual void OnBaselineStarted(std::string_view source_id, const TableIdentifier& table,
                                 std::optional<std::uint64_t> estimated_rows) {
    (void)source_id, (void)table, (void)estimated_rows;
  }
  /// Rows read so far for `table`, reported every `EngineOptions::baseline_progress_rows`.
  virtual void OnBaselineProgress(std::string_view source_id, const TableIdentifier& table,
                                  std::uint64_t rows, std::optional<std::uint64_t> estimated_rows) {
    (void)source_id, (void)table, (void)rows, (void)estimated_rows;
  }
  /// A pipeline applied its whole baseline: `rows` delivered to the target after filters.
  virtual void OnBaselineCompleted(std::string_view pipeline_id, const TableIdentifier& table,
                                   std::uint64_t rows) {
    (void)pipeline_id, (void)table, (void)rows;
  }
  /// `count` stream changes of `table` reached the pipeline's worker, before its filters and
  /// transforms (what was received; `OnChangeApplied` counts what the target took). Once per
  /// batch.
  virtual void OnChangesReceived(std::string_view pipeline_id, const TableIdentifier& table,
                                 std::size_t count) {
    (void)pipeline_id, (void)table, (void)count;
  }
  /// A stream change the pipeline's filters (or a transform) kept from its target. It still counts
  /// in `OnChangeApplied`, which reports every change the pipeline is done with.
  virtual void OnChangeFiltered(std::string_view pipeline_id, const ChangeEvent& event) {
    (void)pipeline_id, (void)event;
  }
  /// The source could not decode a record (`ChangeHandler::OnInvalidRecord`); it was
  /// dead-lettered. `table` when the source could tell.
  virtual void OnInvalidRecord(std::string_view source_id,
                               const std::optional<TableIdentifier>& table) {
    (void)source_id, (void)table;
  }
  virtual void OnChangeApplied(std::string_view pipeline_id, const ChangeEvent& event) {
    (void)pipeline_id, (void)event;
  }
  /// One target call applied `count` changes in `duration` (the target's own time: apply
  /// latency, without the time the changes waited in the buffer).
  virtual void OnChangesApplied(std::string_view pipeline_id, std::size_t count,
                                std::chrono::nanoseconds duration) {
    (void)pipeline_id, (void)count, (void)duration;
  }
  /// The source's lag, sampled every `EngineOptions::lag_interval` on the engine's monitor
  /// thread (never on a thread that moves changes, so a slow query cannot hold them up).
  virtual void OnLag(std::string_view source_id, const LagInfo& lag) { (void)source_id, (void)lag; }
  /// The engine acknowledged `position` to the source.
  virtual void OnAckAdvanced(std::string_view source_id, const Position& position,
                             std::string_view position_text) {
    (void)source_id, (void)position, (void)position_text;
  }
  /// Sampled once per ACK interval for each pipeline.
  virtual void OnBufferDepth(std::string_view pipeline_id, std::size_t depth,
                             std::size_t capacity) {
    (void)pipeline_id, (void)depth, (void)capacity;
  }
  /// A buffered change was discarded by the DropOldest policy.
  virtual void OnChangeDropped(std::string_view pipeline_id, const ChangeEvent& event) {
    (void)pipeline_id, (void)event;
  }
  /// A failure in a source (`component_id` is the source id) or a pipeline (the pipeline id).
  /// `will_retry` tells whether the engine tries again.
  virtual void OnError(std::string_view component_id, std::string_view message, bool will_retry) {
    (void)component_id, (void)message, (void)will_retry;
  }
  virtual void OnDeadLetter(const DeadLetter& letter) { (void)letter; }
  /// A source's targets are about to be reloaded from a fresh baseline.
  virtual void OnRebaseline(std::string_view source_id, std::string_view reason) {
    (void)source_id, (void)reason;
  }
  /// The engine began a snapshot (`Engine::CreateSnapshot`, the schedule, or shutdown).
  virtual void OnSnapshotStarted(std::string_view snapshot_id) { (void)snapshot_id; }
  /// The snapshot was committed to the store.
  virtual void OnSnapshotCompleted(const SnapshotReport& report) { (void)report; }
  /// The snapshot was abandoned (nothing of it is listed); `reason` says why.
  virtual void OnSnapshotFailed(std::string_view snapshot_id, std::string_view reason) {
    (void)snapshot_id, (void)reason;
  }
  /// A source's targets were restored from a snapshot at start; its stream continues from the
  /// snapshot's position, without a baseline.
  virtual void OnSnapshotRestored(std::string_view source_id, const SnapshotReport& report) {
    (void)source_id, (void)report;
  }
  /// A source could not start from a snapshot and baselines instead; `reason` says why (no
  /// snapshot, columns changed, the source's position moved past it, a corrupt file...).
  /// `snapshot_id` is empty when the store held none.
  virtual void OnSnapshotRestoreSkipped(std::string_view source_id, std::string_view snapshot_id,
                                        std::string_view reason) {
    (void)source_id, (void)snapshot_id, (void)reason;
  }
  /// A target answered a schema change.
  virtual void OnSchemaChange(std::string_view pipeline_id, const TableIdentifier& table,
                              const SchemaChangeResponse& response) {
    (void)pipeline_id, (void)table, (void)response;
  }
};

}  // namespace laredo
