#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "engine/acker.hpp"
#include "engine/dispatcher.hpp"
#include "engine/pipeline.hpp"
#include "engine/snapshotter.hpp"
#include "engine/upstream.hpp"
#include "laredo/engine.hpp"
#include "laredo/sync_source.hpp"

namespace laredo::engine {

/// Runs one source: its lifecycle thread (Init and ValidateTables, Baseline, Stream, retries and
/// re-baselines: source_runner.cpp; the baseline itself: source_baseline.cpp), with a
/// `Dispatcher` handing its output to the pipelines and an `Acker` acknowledging it. It is the
/// pipelines' `PipelineUpstream`.
///
/// Threading: the lifecycle runs on its own thread; the status accessors, `Pause`, `Resume` and
/// the `PipelineUpstream` methods from any thread.
class SourceRunner final : public PipelineUpstream {
 public:
  struct Hooks {
    std::function<void()> status_changed;
    std::function<void(const std::string& reason)> stop_engine;
  };

  SourceRunner(std::string id, std::shared_ptr<SyncSource> source, const EngineOptions& options,
               std::shared_ptr<EngineObserver> observer, std::vector<Pipeline*> pipelines,
               Hooks hooks);
  ~SourceRunner() override;
  SourceRunner(const SourceRunner&) = delete;
  SourceRunner& operator=(const SourceRunner&) = delete;

  /// Starts the pipelines' workers, the lifecycle thread and the ACK thread.
  void Start();
  /// Ends the stream (and any baseline or retry wait) and joins the lifecycle thread.
  void StopAndJoinSource();
  /// Stops the ACK thread, sends the final ACK, then `Close()`s the source.
  void Finish();

  void Pause();
  void Resume();
  /// A re-baseline was asked for or is running: the source's pipelines are not ready.
  [[nodiscard]] bool Rebaselining() const { return rebaselining_.load(); }

  [[nodiscard]] Position LastAcked() const { return acker_.LastAcked(); }
  [[nodiscard]] std::string LastAckedText() const { return acker_.LastAckedText(); }
  /// Why the source failed; while it retries, the failure it is retrying (cleared once it works
  /// again).
  [[nodiscard]] std::optional<std::string> Error() const;
  /// See `Engine::AwaitApplied`. Any thread.
  [[nodiscard]] bool AwaitApplied(const Position& position,
                                  std::chrono::milliseconds timeout) const;
  /// The exception behind `Error()`, when the failure was one (null otherwise).
  [[nodiscard]] std::exception_ptr Exception() const;
  /// How long the source has been retrying without success (nullopt while it works).
  [[nodiscard]] std::optional<std::chrono::steady_clock::duration> RetryingFor() const;
  /// True once the source failed for good.
  [[nodiscard]] bool Failed() const;
  [[nodiscard]] SourceState State() const;
  [[nodiscard]] LagInfo Lag() const { return source_->GetLag(); }
  /// The lag monitor's last sample.
  [[nodiscard]] std::optional<LagInfo> LastLag() const {
    std::lock_guard lk(mu_);
    return last_lag_;
  }
  void SetLastLag(const LagInfo& lag) {
    std::lock_guard lk(mu_);
    last_lag_ = lag;
  }
  [[nodiscard]] const std::string& id() const { return id_; }

  // PipelineUpstream
  /// Stops this source's pipelines and the source (`whole_engine`: the engine too).
  void StopFromPipeline(const std::string& reason, bool whole_engine) override;
  /// Ends the stream and baselines again. Ignored when a baseline newer than `generation` (the
  /// pipeline's last) has begun since: it answers it.
  void RequestRebaseline(const std::string& reason, std::uint64_t generation) override;
  bool RequestReload(const TableIdentifier& table, const std::string& reason) override;
  void PipelineStatusChanged() override { hooks_.status_changed(); }
  std::string PrintPosition(const Position& position) override;
  SyncSource* Source() override { return source_.get(); }
  /// Whether a pipeline of this source replicates `table`. Any thread.
  [[nodiscard]] bool Replicates(const TableIdentifier& table) const {
    const auto all = Pipelines();
    return std::any_of(all.begin(), all.end(),
                       [&](const Pipeline* p) { return p->table() == table; });
  }
  /// Every pipeline of the source, those being added included. Any thread.
  [[nodiscard]] std::vector<Pipeline*> Pipelines() const;

  /// A pipeline added while the engine runs (`Engine::AddPipeline` after `Start`): starts its
  /// worker, and the lifecycle thread adds its table at the next pass between two streams (the
  /// running stream ends for it), then loads it: with the next baseline when one is due, else
  /// with a reload (`ReloadableSource`). A table that cannot be added fails that pipeline only.
  /// Any thread.
  void AddPipeline(Pipeline* pipeline);

  /// A re-baseline asked for from outside (`Engine::Rebaseline`): answered by the next baseline.
  void RebaselineNow(const std::string& reason) { RequestRebaseline(reason, generation_.load()); }

  /// Stops this source because of another source's pipeline (ErrorAction::StopEngine).
  void StopForEngine(const std::string& reason);

  /// Snapshots (docs/snapshots.md): set before `Start` when the engine has a store.
  void SetSnapshotter(Snapshotter* snapshotter) { snapshotter_ = snapshotter; }
  /// The pipelines whose targets take part in snapshots.
  [[nodiscard]] std::vector<Pipeline*> SnapshotPipelines() const;
  /// See `Dispatcher::InjectBarrier`. Any thread.
  std::optional<AckPoint> InjectBarrier(const SnapshotStep& step,
                                        const std::vector<Pipeline*>& pipelines) {
    return dispatcher_.InjectBarrier(step, pipelines);
  }

 private:
  void Run(std::stop_token stop);
  /// Init and ValidateTables, retried together; false when the source failed or stopped.
  bool Initialise(const std::stop_token& stop);
  /// Resumes from the source's saved position when it and every target kept their place.
  std::optional<Position> TryResume(const std::stop_token& stop);
  /// At a resume: the tables whose targets hold a reload checkpoint the source goes on with
  /// (`ReloadableSource::ContinueReload`); a table it cannot go on with is reloaded from nothing.
  /// Nullopt when one of them cannot be reloaded at all: a baseline then reads everything.
  std::optional<std::set<TableIdentifier>> ContinueReloads();
  /// Restores every pipeline from the newest snapshot when all of them can be and the source can
  /// stream from its position (source_restore.cpp); that position, or nullopt (with the reason
  /// reported) when the source must baseline.
  std::optional<Position> TryRestore(const std::stop_token& stop);
  /// Why the source cannot start from `snapshot`; empty when it can. Sets `position`.
  std::string CheckRestore(const snapshot::SnapshotMetadata& snapshot, Position& position,
                           Position& acked);
  /// One baseline into every pipeline; its end position, or nullopt (stopped or failed).
  std::optional<Position> RunBaseline(const std::stop_token& stop);
  /// Queues the start of `table`'s baseline, once per baseline, with the columns it delivers.
  bool BeginTable(const TableIdentifier& table, const std::stop_token& stop);
  void OnBaselineRow(const TableIdentifier& table, Row row, const std::stop_token& stop);
  void ClearRetryError();
  /// Records `message` as the failure being retried, then waits out the retry delay (reporting
  /// Reconnecting meanwhile); false when stopped.
  bool Retry(const std::stop_token& stop, int failures, const std::string& message);
  void Fail(const std::string& message);
  void ReportState();
  /// Lifecycle thread, between two streams: adds the pipelines `AddPipeline` queued;
  /// `baseline_follows`: a baseline is about to load every table, so no reload is asked for.
  void ApplyAdditions(const std::stop_token& stop, bool baseline_follows);
  /// Whether pipelines wait to be added.
  [[nodiscard]] bool AdditionsPending() const {
    std::lock_guard lk(mu_);
    return !additions_.empty();
  }

  const std::string id_;
  const std::shared_ptr<SyncSource> source_;
  const EngineOptions options_;
  const std::shared_ptr<EngineObserver> observer_;  // the engine's one (observer_fanout.hpp)
  /// Written by the lifecycle thread only (under mu_), so it reads without the lock; other
  /// threads call Pipelines().
  std::vector<Pipeline*> pipelines_;
  const Hooks hooks_;
  Dispatcher dispatcher_;
  Acker acker_;
  Snapshotter* snapshotter_ = nullptr;

  // Lifecycle thread only: the running baseline's state.
  std::map<TableIdentifier, std::uint64_t> baseline_counts_;
  std::map<TableIdentifier, bool> begun_;        // tables whose BaselineBegin was queued
  const TableIdentifier* rows_table_ = nullptr;  // the table whose rows flow now (begun)
  std::uint64_t* rows_count_ = nullptr;          // its entry in baseline_counts_
  bool baseline_stopped_ = false;  // an Enqueue inside the baseline callbacks saw the stop
  std::map<TableIdentifier, std::optional<std::uint64_t>> baseline_estimates_;

  mutable std::mutex mu_;  // guards the members below
  std::optional<std::string> error_;
  std::optional<std::string> retry_error_;  // the failure being retried
  std::exception_ptr exception_;            // behind error_ or retry_error_
  std::optional<LagInfo> last_lag_;
  bool retrying_ = false;
  std::optional<std::chrono::steady_clock::time_point> retrying_since_;  // first failure retried
  std::optional<std::string> rebaseline_reason_;
  std::vector<Pipeline*> additions_;  // added while running, not yet taken by the lifecycle
  std::stop_source stream_source_;
  std::atomic<std::uint64_t> generation_{0};  // baselines begun
  std::atomic<bool> rebaselining_{false};
  SourceState reported_state_ = SourceState::Closed;

  std::jthread thread_;
};

}  // namespace laredo::engine
