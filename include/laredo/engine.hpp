#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/backoff.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/pipeline_options.hpp"
#include "laredo/position.hpp"
#include "laredo/snapshot/metadata.hpp"
#include "laredo/source_status.hpp"
#include "laredo/sync_source.hpp"
#include "laredo/sync_target.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo {

namespace snapshot {
class SnapshotStore;
}

/// Snapshots of the targets (docs/snapshots.md). Off unless `store` is set. With a store, every
/// pipeline whose target implements `snapshot::SnapshotCapable` (and does not keep state of its
/// own, `KeepsStateAcrossRestarts`) takes part: it is restored from the newest snapshot at start
/// instead of baselined, and it is durable only up to its newest snapshot, so its source is never
/// acknowledged past that snapshot's position (the source then retains, e.g. as WAL, what came
/// after: `interval` bounds how much).
struct SnapshotOptions {
  /// Where snapshots go (`snapshot::LocalDirectoryStore`, `kinesis::S3SnapshotStore`). Default
  /// none: snapshots off.
  std::shared_ptr<snapshot::SnapshotStore> store{};
  /// Time between two scheduled snapshots, counted from the end of the last one. It bounds what
  /// the source retains and what a restart replays. Default 10 minutes; zero: on demand
  /// (`Engine::CreateSnapshot`) and at shutdown only.
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  /// Take a snapshot at `Engine::Stop`, after the sources stopped, of everything they delivered, so
  /// a restart replays nothing. `Stop` waits for it up to `timeout` (then the drain follows,
  /// within `EngineOptions::drain_timeout`). Default true.
  bool on_shutdown = true;
  /// Restore from the newest snapshot at start. Default true.
  bool restore_at_start = true;
  /// Committed snapshots kept after each new one (older ones are pruned). Default 3; at least 1.
  std::size_t keep = 3;
  /// How long a snapshot may take before it is abandoned. Default 5 minutes.
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

/// Engine-wide settings.
struct EngineOptions {
  /// How often each source is acknowledged (when its durable position advanced). Default 1 s.
  std::chrono::milliseconds ack_interval{1000};
  /// How long `Stop()` lets pipelines apply what is buffered before abandoning the rest (abandoned
  /// changes are not acknowledged, so a resumable source delivers them again). Default 5 s.
  std::chrono::milliseconds drain_timeout{5000};
  /// Consecutive `RetryableError`s from a source's `Init`, `Baseline` or `Stream` tolerated before
  /// the source is marked failed. Default 5.
  int source_max_retries = 5;
  /// Delays between a source's retries. Default 500 ms doubling up to 30 s.
  Backoff source_backoff{.initial = std::chrono::milliseconds(500),
                         .max = std::chrono::milliseconds(30'000),
                         .multiplier = 2.0};
  /// How long a source may retry (a lost connection, a server restarting) before its pipelines
  /// count as not ready (`AwaitReady`, `/health/ready`): a short outage keeps serving the last
  /// contents, a long one takes the replica out of service with the reason. Default 30 s; zero:
  /// not ready from the first failure.
  std::chrono::milliseconds ready_while_retrying{30'000};
  /// Rows between two `OnBaselineProgress` calls. Default 100,000.
  std::uint64_t baseline_progress_rows = 100'000;
  /// How often each source's `GetLag()` is sampled for `EngineObserver::OnLag`, on a thread of its
  /// own. Default 5 s; zero turns sampling off.
  std::chrono::milliseconds lag_interval{5000};
  /// Hooks for metrics and logging, called in this order (e.g. a `metrics::PrometheusObserver`
  /// and a logging one). Null entries are ignored. Default none.
  std::vector<std::shared_ptr<EngineObserver>> observers{};
  /// Snapshots of the targets. Default off.
  SnapshotOptions snapshots{};
};

/// A snapshot of one pipeline's status.
struct PipelineStatus {
  std::string id{};
  std::string source_id{};
  TableIdentifier table{};
  PipelineState state = PipelineState::Pending;
  std::uint64_t baseline_rows = 0;
  std::uint64_t changes_applied = 0;
  std::size_t buffer_depth = 0;
  std::size_t buffer_capacity = 0;
  /// A reload of the table while the stream flows is in progress (`Engine::ReloadTable`): readers
  /// of a target that builds aside (`IndexedTarget`) see the contents from before it began until
  /// it ends; `baseline_rows` counts its rows so far.
  bool reloading = false;
  /// The failure that stopped the pipeline, or while it retries a change, the failure it retries.
  std::string last_error{};
};

/// A snapshot of one source's status.
struct SourceStatus {
  std::string id{};
  SourceState state = SourceState::Closed;
  /// The last position acknowledged to the source, as it prints it; empty before the first ACK.
  std::string last_acked_position{};
  /// Why the source failed, or while it retries, the failure it retries.
  std::optional<std::string> error{};
  /// The last lag sample (`EngineOptions::lag_interval`); empty before the first, or when
  /// sampling is off. Reading it never queries the source.
  std::optional<LagInfo> lag{};
  /// The ids of its pipelines.
  std::vector<std::string> pipelines{};
};

/// Binds sources to targets through (source, table, target) pipelines and runs them.
///
/// Each source runs on its own thread (Init, ValidateTables, Baseline, Stream); its stream is
/// demultiplexed by table into every pipeline of that table. Each pipeline has a bounded buffer
/// and a worker thread that applies changes to its target. Per source, an ACK thread acknowledges
/// the newest position that every live pipeline of the source has made durable.
///
/// Threading contract: configure (`AddSource`, `AddPipeline`) and then `Start()` from one thread.
/// After `Start()`, every public method is thread-safe (`AddPipeline` included: see there).
/// `Stop()` is idempotent and runs from the destructor; it must not be called from an observer or
/// target callback.
class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Registers a source. Problems (duplicate id, null source) are reported by `Start()`.
  void AddSource(std::string id, std::shared_ptr<SyncSource> source);

  /// Binds `table` of source `source_id` to `target`; returns the pipeline id. Before `Start`,
  /// problems are reported by `Start()`.
  ///
  /// After `Start` (any thread), it adds the pipeline to the running source, for a source that
  /// implements `ReloadableSource` (PostgreSQL: docs/pg-source.md, "Adding a table while
  /// streaming"): the source adds the table (a managed publication gets it), and the pipeline is
  /// loaded while the stream keeps flowing, as `ReloadTable` does, without a baseline of the other
  /// tables. When the table is replicated already (a second target), every pipeline of it is
  /// reloaded. The pipeline is not ready until its load ends (`AwaitReady({id}, ...)`); a table
  /// that cannot be added (it does not exist, has no primary key, is missing from a publication
  /// someone else manages) fails that pipeline alone, with the reason in its status. The running
  /// stream ends and starts again at its place for the addition (for PostgreSQL, a reconnect).
  /// Throws `ConfigError` at once for an unknown or failed source, a source that cannot add
  /// tables, bad options, and a target that another pipeline uses already (targets shared by
  /// pipelines are bound before `Start`). Add the pipeline before `Start` at the next start of
  /// the service, or its table is not loaded then.
  std::string AddPipeline(std::string source_id, TableIdentifier table,
                          std::shared_ptr<SyncTarget> target, PipelineOptions options = {});

  /// Checks the whole configuration, throwing one `ConfigError` listing every problem, then
  /// starts the threads and returns. Source failures after this point (connection, validation)
  /// are reported through the observer, `SourceError()` and `Pipelines()`.
  void Start();

  /// True once every pipeline has applied its baseline (or resumed without one) and no re-baseline
  /// is pending; false when the timeout passes first, or at once when a source or pipeline failed.
  /// `NotReadyReason()` then says why.
  bool AwaitReady(std::chrono::milliseconds timeout);

  /// Like `AwaitReady`, for the named pipelines only (ids as `AddPipeline` returned them), so a
  /// service can serve the tables it has while others still load. True once each of them applied
  /// its baseline and its source has no re-baseline pending; false at the timeout, or at once when
  /// one of them (or its source) failed. Throws `ConfigError` for an unknown id.
  bool AwaitReady(const std::vector<std::string>& pipeline_ids, std::chrono::milliseconds timeout);
  /// Why the named pipelines are not ready (empty when they are).
  [[nodiscard]] std::string NotReadyReason(const std::vector<std::string>& pipeline_ids) const;

  /// Empty when ready; else every reason, e.g. "source main has been retrying for 31 s: Stream
  /// failed, retrying: connection refused (retry 2 of 5)" (see `ready_while_retrying`) or
  /// "pipeline main/public.users is loading its baseline (1200 rows so far)".
  [[nodiscard]] std::string NotReadyReason() const;

  /// Pauses a source: it stops consuming and its pipelines hold what they have buffered.
  /// Throws `ConfigError` for an unknown id.
  void Pause(std::string_view source_id);
  void Resume(std::string_view source_id);

  /// Reloads every table of a source from a fresh baseline while the service keeps serving the old
  /// contents (targets that build aside, as `IndexedTarget`, swap at the end): the running stream
  /// ends, the source baselines, and the stream continues from the new baseline. `reason` goes to
  /// the log and `EngineObserver::OnRebaseline`. Throws `ConfigError` for an unknown id. Any
  /// thread, after `Start`.
  void Rebaseline(std::string_view source_id, std::string_view reason);
  /// Reloads one table of a source while its stream keeps flowing and its other tables stay as
  /// they are (a source that implements `ReloadableSource`: PostgreSQL, docs/pg-source.md,
  /// "Reloading one table"). Each pipeline of the table rebuilds its target aside
  /// (`OnBaselineBegin`, rows mixed with the table's changes, `OnBaselineComplete`) and stays
  /// ready meanwhile; `PipelineStatus::reloading` says when it is done, and observers hear
  /// `OnBaselineStarted` and `OnBaselineCompleted` for each pipeline (so baseline metrics count
  /// the reload's rows and duration). Snapshots are refused while a reload runs.
  /// Returns once the reload is queued. A reload in progress when the stream reconnects starts
  /// again from nothing; a restart of the process forgets it. Throws `ConfigError` for an unknown
  /// source, a table none of its pipelines replicates, a source that cannot reload one table,
  /// and what the source's `ReloadTable` throws. Any thread, after `Start`.
  void ReloadTable(std::string_view source_id, const TableIdentifier& table);
  /// Discards the source's saved state (a PostgreSQL slot, and its publication with
  /// `drop_publication`) and reloads it from a fresh baseline: for a slot that must be re-created,
  /// e.g. after a restore of the database. Throws `ConfigError` for an unknown id or a source that
  /// cannot be reset (it does not implement `Resettable`), and what the source's reset throws.
  void ResetSource(std::string_view source_id, bool drop_publication = false);

  /// Stops sources, takes the shutdown snapshot (when snapshots are on, bounded by
  /// `SnapshotOptions::timeout`), lets pipelines drain (bounded by `drain_timeout`), calls
  /// `OnClose` on every target (then `IsDurable` once more, so what a target flushes on close
  /// counts), sends each source its final ACK, calls `Close()` on every source, and joins every
  /// thread. Returns within those bounds plus the time the target calls in progress take.
  void Stop();

  /// Takes a snapshot of every target that takes part (see `SnapshotOptions`), consistent per
  /// source: each source's targets hold exactly the changes up to one position of that source,
  /// recorded in the snapshot. The sources keep streaming; each pipeline pauses only while its
  /// target exports. Returns the committed snapshot's metadata. Throws `laredo::Error`
  /// ("snapshot_not_ready") when snapshots are off, a pipeline that takes part is not ready
  /// (baseline, re-baseline, failed) or its source is paused; ("snapshot_failed") when an export or
  /// the store failed or `SnapshotOptions::timeout` passed; nothing of such a snapshot is listed.
  /// One snapshot at a time: a second caller waits. Any thread, after `Start`.
  snapshot::SnapshotMetadata CreateSnapshot();

  /// Blocks until the engine stopped itself (an `ErrorAction::StopEngine` pipeline) or `timeout`
  /// passed; true if it stopped. `Stop()` must still be called to release the threads.
  bool AwaitStopped(std::chrono::milliseconds timeout);

  [[nodiscard]] std::vector<PipelineStatus> Pipelines() const;
  /// Every source, in the order they were added (empty before `Start`).
  [[nodiscard]] std::vector<SourceStatus> Sources() const;
  /// Throws `ConfigError` for an unknown id.
  [[nodiscard]] PipelineStatus Pipeline(std::string_view pipeline_id) const;
  /// The last position acknowledged to the source; empty before the first ACK.
  /// Read-your-own-writes: waits until every pipeline of the source applied every change at or
  /// before `position` (as the source orders positions), so a service that wrote to the origin
  /// can read its write from the replica. True when they have; false at the timeout, or at once
  /// when the source or one of its pipelines failed. For PostgreSQL, take the position from
  /// `SELECT pg_current_wal_insert_lsn()` after your commit: `laredo::pg::PositionAt(lsn)`. A
  /// position past the last change is reached through the source's progress reports
  /// (`ChangeHandler::OnProgress`); a source that sends none answers only once a later change
  /// arrives. Throws `ConfigError` for an unknown id. Any thread.
  bool AwaitApplied(std::string_view source_id, const Position& position,
                    std::chrono::milliseconds timeout) const;
  [[nodiscard]] Position LastAckedPosition(std::string_view source_id) const;
  /// The same, printed by the source; empty before the first ACK.
  [[nodiscard]] std::string LastAckedPositionString(std::string_view source_id) const;
  [[nodiscard]] LagInfo GetLag(std::string_view source_id) const;
  [[nodiscard]] SourceState GetSourceState(std::string_view source_id) const;
  /// Why the source failed; while it retries (its state is then Reconnecting), the failure it is
  /// retrying, at once from the first failure. Empty while it works.
  [[nodiscard]] std::optional<std::string> SourceError(std::string_view source_id) const;
  /// The exception behind `SourceError()`, to inspect its type and details (for a PostgreSQL
  /// server error, `laredo::pg::SqlState(exception)`); null while the source works, or when the
  /// failure was not an exception (a validation problem). Throws `ConfigError` for an unknown id.
  [[nodiscard]] std::exception_ptr SourceException(std::string_view source_id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laredo
