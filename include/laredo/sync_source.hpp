#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/change_event.hpp"
#include "laredo/column_definition.hpp"
#include "laredo/position.hpp"
#include "laredo/row.hpp"
#include "laredo/source_config.hpp"
#include "laredo/source_status.hpp"
#include "laredo/table_identifier.hpp"
#include "laredo/validation_error.hpp"

namespace laredo {

/// Called once per baseline row, on the thread running `SyncSource::Baseline`. May block
/// (backpressure) and returns promptly once the baseline's stop token is triggered.
using RowCallback = std::function<void(const TableIdentifier&, Row)>;

/// Called by a baseline with the columns one table's rows will carry, before that table's first
/// row, on the thread running the baseline.
using ColumnsCallback = std::function<void(const TableIdentifier&, std::vector<ColumnDefinition>)>;

/// A source of truth: a consistent point-in-time baseline, then an ordered change stream that
/// starts exactly where the baseline ended.
///
/// Lifecycle, as the engine drives it: `Init` -> `ValidateTables` -> `Baseline` (skipped when
/// resuming) -> `Stream` (blocking) -> `Close`. `Ack` arrives periodically while streaming.
///
/// Threading contract: the engine calls `Init`, `ValidateTables`, `Baseline` and `Stream` from one
/// thread, in that order (`Baseline` and `Stream` again after a re-baseline or a retryable stream
/// failure). `Close` comes once, after `Stream` returned and the final `Ack`, from the thread that
/// stops the engine. `Ack`, `Pause`, `Resume`, `GetLag`, `State`, `LastAckedPosition` and the
/// position functions may be called from other threads at any time, also while `Stream` runs, and
/// must be thread-safe.
///
/// Retries: a `RetryableError` from `Init` or `Baseline` makes the engine try again with backoff;
/// from `Stream`, the engine calls `Stream` again from the last position it fully dispatched.
///
/// Errors: throw `laredo::Error` subclasses. `Stream` throws `RebaselineRequired` when it can no
/// longer continue from its position, and any other error when it cannot continue at all.
class SyncSource {
 public:
  virtual ~SyncSource() = default;

  /// Connects and discovers the columns of every table in `config.tables`.
  virtual std::map<TableIdentifier, std::vector<ColumnDefinition>> Init(
      const SourceConfig& config) = 0;

  /// Every problem with `tables` at once; empty when all is well. Default: none (a source that
  /// checks in `Init` may leave it).
  virtual std::vector<ValidationError> ValidateTables(const std::vector<TableIdentifier>& tables) {
    (void)tables;
    return {};
  }

  /// Delivers one consistent snapshot of `tables` through `on_row`, then returns the position
  /// where the change stream must start. Returns early (any position) when `stop` is triggered.
  virtual Position Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                            const RowCallback& on_row) = 0;

  /// Streams every change after `from` to `handler` until `stop` is triggered, then returns
  /// normally. Throws on failure (see the class comment).
  virtual void Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) = 0;

  /// Every change at or before `position` is durable in every target; the source may release it
  /// (advance a slot, write a checkpoint).
  virtual void Ack(const Position& position) = 0;

  /// Whether the source can continue from `LastAckedPosition()` after a restart. Default false.
  [[nodiscard]] virtual bool SupportsResume() const { return false; }
  /// The position saved by a previous run, or an empty Position (the default).
  virtual Position LastAckedPosition() { return {}; }

  /// Negative, zero or positive as `a` is before, at or after `b`. A total order.
  [[nodiscard]] virtual int ComparePositions(const Position& a, const Position& b) const = 0;
  /// Round-trips through `PositionFromString`.
  [[nodiscard]] virtual std::string PositionToString(const Position& position) const = 0;
  /// Throws `laredo::DataError` (code "bad_position") for a string it did not produce.
  [[nodiscard]] virtual Position PositionFromString(std::string_view text) const = 0;

  /// Stops consuming without losing the connection; changes wait at the origin. Default: nothing
  /// (the engine's paused pipelines hold what arrives, and their full buffers then block the
  /// stream), so a source that cannot pause still pauses.
  virtual void Pause() {}
  virtual void Resume() {}

  /// How far behind the origin the source is. Default: unknown (both fields empty).
  [[nodiscard]] virtual LagInfo GetLag() const { return {}; }
  /// What order the source's changes keep, for users and tools to read: informational, the
  /// engine does not act on it (every source hands it one stream, applied in that order per
  /// table). Default `TotalOrder`. Qualified: the method shares the enum's name.
  [[nodiscard]] virtual laredo::OrderingGuarantee OrderingGuarantee() const {
    return laredo::OrderingGuarantee::TotalOrder;
  }
  [[nodiscard]] virtual SourceState State() const = 0;

  /// Releases connections and threads. Called once, after `Stream` returned. Default: nothing.
  virtual void Close() {}
};

/// Optional: a source that can discard its saved state (drop and re-create a replication slot).
/// Discover it with `dynamic_cast`.
class Resettable {
 public:
  virtual ~Resettable() = default;
  virtual void ResetSource(bool drop_publication) = 0;
};

/// Optional: a source that reads every table's columns afresh for each baseline, so a re-baseline
/// after `ALTER TABLE` (a column renamed or dropped while the stream was down) reloads the targets
/// with the columns that were really copied, not those `Init` saw. When a source implements it the
/// engine calls `BaselineWithColumns` instead of `Baseline`; `on_columns` must run once for every
/// table of `tables` (empty ones too) before that table's first row. Each target is then
/// re-initialised with those columns (`SyncTarget::OnBaselineBegin`). Discover it with
/// `dynamic_cast`.
class SchemaReportingBaseline {
 public:
  virtual ~SchemaReportingBaseline() = default;
  virtual Position BaselineWithColumns(std::stop_token stop,
                                       const std::vector<TableIdentifier>& tables,
                                       const ColumnsCallback& on_columns,
                                       const RowCallback& on_row) = 0;
};

/// Optional: a source whose saved position may run ahead of the engine's acknowledgements, over
/// stretches of the origin's log that hold nothing for it (PostgreSQL confirms WAL that only other
/// tables or databases wrote while every delivered change is acknowledged, so an idle slot does not
/// pin WAL). The engine calls `ReleaseOnlyAcknowledged` before `Init` when the durability of some
/// of the source's targets comes from snapshots: from then on the saved position must never pass
/// the last `Ack`, because the engine's restore at start tells a snapshot the source can still
/// stream from by comparing it with that position (docs/snapshots.md). Discover it with
/// `dynamic_cast`.
class ExactRelease {
 public:
  virtual ~ExactRelease() = default;
  virtual void ReleaseOnlyAcknowledged() = 0;
};

/// Optional: a source that can reload one table while its stream keeps flowing, without a
/// baseline of the others (PostgreSQL: DBLog's watermarked chunks, docs/pg-source.md). The reload
/// reaches the engine through the `ChangeHandler` reload calls, in stream order. Requests are
/// queued and carried out one table at a time inside `Stream`; a request for a table already
/// queued or reloading is one request. A reload in progress when `Stream` ends (a stop) either
/// continues in the next `Stream` (sending nothing new: the copy goes on) or starts again from
/// nothing (a new `OnReloadBegin`). Across a restart of the process it continues from its last
/// checkpoint (`ChangeHandler::OnReloadCheckpoint`) when every target of the table kept one
/// (`ContinueReload`). Discover it with `dynamic_cast`.
class ReloadableSource {
 public:
  virtual ~ReloadableSource() = default;
  /// Queues a reload of `table`. Any thread. Throws `ConfigError` when `table` is not one of the
  /// source's tables or cannot be reloaded (no primary key, a server too old).
  virtual void ReloadTable(const TableIdentifier& table) = 0;
  /// Makes `table` one of the source's tables while it runs (`Engine::AddPipeline` after
  /// `Start`), and returns its columns. The engine calls it on the source's lifecycle thread
  /// between two `Stream` calls (never while `Stream` or `Baseline` runs), then loads the table
  /// with `ReloadTable`, or with the next baseline when one is about to run. For a table that is
  /// one of the source's already, returns its columns. Throws `ConfigError` when the table cannot
  /// be added (it does not exist, cannot be reloaded, is not published), `RetryableError` when the
  /// origin could not be reached.
  virtual std::vector<ColumnDefinition> AddTable(const TableIdentifier& table) = 0;
  /// At a resume without a baseline, before the first `Stream`: the targets of `table` hold a
  /// reload of it up to `checkpoint` (the text of an `OnReloadCheckpoint`). True when the next
  /// `Stream` goes on with that reload (no new `OnReloadBegin`; its rows, checkpoints and end
  /// follow); false when it cannot, and the engine then asks for a reload from nothing
  /// (`ReloadTable`). Throws `DataError` (`codes::kBadReloadCheckpoint`) for text it did not
  /// write; the engine logs it and reloads from nothing too. Lifecycle thread. Default false.
  virtual bool ContinueReload(const TableIdentifier& table, const std::string& checkpoint) {
    (void)table;
    (void)checkpoint;
    return false;
  }
};

/// Optional: a source that can estimate how many rows a baseline of a table will deliver, so
/// baseline progress can be reported as a fraction. Discover it with `dynamic_cast`.
class BaselineSizeEstimator {
 public:
  virtual ~BaselineSizeEstimator() = default;
  virtual std::optional<std::uint64_t> EstimateRows(const TableIdentifier& table) = 0;
};

}  // namespace laredo
