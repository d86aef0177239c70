#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/change_queue.hpp"
#include "engine/dead_letters.hpp"
#include "engine/durability.hpp"
#include "engine/item.hpp"
#include "engine/row_stage.hpp"
#include "engine/upstream.hpp"
#include "laredo/engine.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/pipeline_options.hpp"
#include "laredo/sync_target.hpp"

namespace laredo::engine {

/// One (source, table, target) binding: a bounded buffer (`ChangeQueue`) and the worker thread
/// that applies it to the target, with retries and the error policy, and the bookkeeping of what
/// the target made durable (`DurabilityTracker`).
///
/// The worker's flow (pipeline.cpp): take everything buffered, apply each item (control steps and
/// baseline rows in pipeline_steps.cpp, changes in pipeline_changes.cpp), then ask the target
/// what is durable. Failures go through `WithRetry` (pipeline_retry.cpp).
///
/// Threading: `Enqueue` is called by the source thread only; `Watermark`, `Status`, `SetPaused`,
/// `BeginDrain`, `Halt` from any thread. The target is called from the worker thread only
/// (serialised by `target_mutex` when the target is shared with other pipelines).
class Pipeline {
 public:
  /// `spin_before_sleep`: poll briefly for the next item before sleeping; worth it only when
  /// every busy engine thread has a core of its own.
  Pipeline(std::string id, std::string source_id, TableIdentifier table,
           std::shared_ptr<SyncTarget> target, PipelineOptions options,
           std::shared_ptr<EngineObserver> observer, std::shared_ptr<std::mutex> target_mutex,
           bool spin_before_sleep);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// Starts the worker. `upstream` outlives the pipeline's worker.
  void Start(PipelineUpstream& upstream);

  /// Queues `item` (see `ChangeQueue::Push`). Returns false when it was not queued because of
  /// `stop`. Items offered to a halted pipeline are discarded; it keeps holding the ACK. A
  /// BaselineBeginStep makes the pipeline not ready at once. A change run rejected by a full
  /// buffer under BufferPolicy::Error is handled here (dead letters, error policy).
  bool Enqueue(Item item, const std::stop_token& stop,
               const BackpressureHook* while_blocked = nullptr);

  /// Where this pipeline lets the ACK stand (see `DurabilityTracker::Watermark`). A halted
  /// pipeline never leaves the computation: what it discarded stays unconfirmed.
  [[nodiscard]] AckPoint Watermark(const AckPoint& published) const {
    return durability_.Watermark(published, queue_.LastQueuedSeq());
  }

  /// Everything queued to this pipeline up to dispatch number `seq` was applied (for
  /// `Engine::AwaitApplied`). Conservative: false while anything older than `seq` may be queued.
  [[nodiscard]] bool AppliedThrough(std::uint64_t seq) const {
    const std::uint64_t applied = durability_.AppliedSeq();  // first: see the definition
    return applied >= seq || queue_.LastQueuedSeq() <= applied;
  }

  [[nodiscard]] Position LastAppliedPosition() const { return durability_.LastAppliedPosition(); }

  /// The target takes part in snapshots: its ACK watermark stops at its newest snapshot (see
  /// `DurabilityTracker::LimitToSnapshots`). Before `Start`.
  /// `added_while_running`: see `DurabilityTracker::LimitToSnapshotsFromTheFirst`.
  void MakeSnapshotDurable(bool added_while_running = false) {
    snapshot_durable_ = true;
    if (added_while_running) {
      durability_.LimitToSnapshotsFromTheFirst();
    } else {
      durability_.LimitToSnapshots();
    }
  }
  [[nodiscard]] bool snapshot_durable() const { return snapshot_durable_; }
  /// A committed snapshot (or the one restored) holds this target at `point`. Any thread.
  void SnapshotCommitted(const AckPoint& point) { durability_.RaiseCap(point); }
  /// Why a snapshot cannot be taken of this pipeline now; empty when it can. Any thread.
  [[nodiscard]] std::string SnapshotBlocker() const;

  /// Not ready from now until the next baseline completes (source thread, at a baseline's start).
  void MarkNotReady() { ready_.store(false, std::memory_order_release); }
  void SetPaused(bool paused);
  /// Apply what is buffered until empty or `deadline`, then call `OnClose` and exit.
  void BeginDrain(std::chrono::steady_clock::time_point deadline) { queue_.BeginDrain(deadline); }
  /// Stop applying (isolation, ErrorAction::StopSource/StopEngine, a failed source): the buffer is
  /// discarded, the ACK stays held at the newest durable point.
  void Halt(PipelineState state, const std::string& reason);
  /// Waits until the worker finished (drained or halted); false at the deadline.
  bool WaitExited(std::chrono::steady_clock::time_point deadline);
  /// Interrupts retries and waits; the worker exits after the target call in progress.
  void RequestHardStop();
  void Join();

  [[nodiscard]] PipelineStatus Status() const;
  [[nodiscard]] bool Ready() const { return ready_.load(std::memory_order_acquire); }
  [[nodiscard]] bool Failed() const;
  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] const TableIdentifier& table() const { return table_; }
  [[nodiscard]] const std::shared_ptr<SyncTarget>& target() const { return target_; }
  [[nodiscard]] std::size_t capacity() const { return options_.buffer_capacity; }
  [[nodiscard]] const DeadLetterSink* dead_letter_sink() const { return dead_letters_.sink(); }
  /// Keeps `pool` alive as long as the pipeline's buffer (whose items hold its batches).
  void HoldPool(std::shared_ptr<void> pool) { pools_.push_back(std::move(pool)); }
  /// Reports `letter` to the observer and writes it to this pipeline's sink. Any thread.
  void DeliverDeadLetter(const DeadLetter& letter) const { dead_letters_.Deliver(letter); }

 private:
  enum class Outcome { Done, Skipped, Halt };

  void Run(std::stop_token stop);
  bool Apply(Item& item, const std::stop_token& stop);

  // pipeline_steps.cpp: control steps and baseline rows.
  void ApplyInit(const InitStep& step);
  void ApplyBaselineBegin(const BaselineBeginStep& step);
  bool ApplyBaselineRows(BaselineRows& rows, const std::stop_token& stop);
  void ApplyBaselineComplete();
  void ApplyResume(const ResumeStep& step);
  void ApplySchemaChange(const SchemaChangeStep& step);
  void ApplyReloadBegin(const ReloadBeginStep& step);
  void ApplyReloadEnd();
  void ApplyReloadCheckpoint(const ReloadCheckpointStep& step);
  // pipeline_snapshot.cpp: the snapshot barrier and the restore at start. They report to their
  // job instead of failing the pipeline: a snapshot that fails changes nothing here.
  void ApplySnapshot(const SnapshotStep& step);
  void ApplyRestore(const RestoreStep& step);
  /// Asks for a re-baseline and discards changes until it begins; they are not confirmed, so the
  /// ACK cannot pass them before the baseline that replaces them is applied.
  void AwaitRebaseline(const std::string& reason);
  /// As `AwaitRebaseline`, with a reload of this table alone when the source can (the other
  /// tables of the source stream on untouched).
  void AwaitReload(const std::string& reason);

  // pipeline_changes.cpp: change runs, in batches, one by one after a failure.
  bool ApplyRun(ChangeRun& run, const std::stop_token& stop);
  /// Applies the run's changes in [from, to) in as few `OnChanges` calls as it can. `done` is
  /// kept at the index of the first change not yet known to be applied, also when it throws.
  void ApplyChanges(const ChangeRun& run, std::uint32_t from, std::uint32_t to,
                    std::uint32_t& done);
  /// After a failure of `ApplyChanges`: the failure is known to be that of the change at `done`
  /// (it failed alone, or the target said how many before it were applied).
  bool failure_is_exact_ = false;
  /// Adds what `event` does to the target to `pending_` (nothing when filtered out or discarded).
  void PrepareChange(const ChangeEvent& event, std::uint64_t seq);
  void PrepareUpdate(const ChangeEvent& event, std::uint64_t seq);
  /// Calls `OnChanges` with `pending_`, then counts and reports the changes in [first, end).
  void FlushPending(const ChangeRun& run, std::uint32_t first, std::uint32_t end,
                    std::uint32_t& done);
  /// Counts and reports the changes of the run in [first, end) as applied.
  void CountApplied(const ChangeRun& run, std::uint32_t first, std::uint32_t end);
  /// `row` after the transforms (itself when there are none), or nullptr when one dropped it.
  const Row* Transformed(const Row& row);

  // pipeline_retry.cpp: retries, dead letters and the error policy.
  /// Runs `attempt` until it succeeds, with the error policy's retries. On exhaustion a row item
  /// (`letter` set) is dead-lettered and skipped under ErrorAction::Skip; anything else fails the
  /// pipeline. `failed`, when set, is the failure of a first attempt made already.
  Outcome WithRetry(std::string_view what, const std::function<void()>& attempt,
                    const std::function<void(const std::string&, int)>& letter,
                    const std::stop_token& stop, std::exception_ptr failed = nullptr);
  void Fail(const std::string& reason);
  void ClearRetryError();
  void SetState(PipelineState state);
  void ConfirmApplied();

  const std::string id_;
  const std::string source_id_;
  const TableIdentifier table_;
  const std::shared_ptr<SyncTarget> target_;
  const PipelineOptions options_;
  const std::shared_ptr<EngineObserver> observer_;
  const std::shared_ptr<std::mutex> target_mutex_;  // null unless the target is shared
  const bool spin_before_sleep_;
  bool snapshot_durable_ = false;  // set before Start
  PipelineUpstream* upstream_ = nullptr;
  SyncSource* source_ = nullptr;  // upstream_->Source(), for TargetChange
  const DeadLetters dead_letters_;

  std::vector<std::shared_ptr<void>> pools_;  // destroyed after `queue_` and the worker
  ChangeQueue queue_;
  DurabilityTracker durability_;

  mutable std::mutex mu_;  // guards state_, last_error_, exited_
  PipelineState state_ = PipelineState::Pending;
  std::string last_error_;
  bool exited_ = false;
  std::condition_variable exited_cv_;

  // Worker-thread only.
  RowStage rows_;
  std::vector<ColumnDefinition> columns_;
  /// The generation of the last baseline begun, and whether changes are discarded until the next.
  std::uint64_t generation_ = 0;
  bool awaiting_rebaseline_ = false;
  /// A reload of the table was asked for instead (`AwaitReload`): changes are discarded, and
  /// the ACK held, until its begin; the reload then reads the rows they concerned.
  bool awaiting_reload_ = false;
  [[nodiscard]] bool Discarding() const noexcept {
    return awaiting_rebaseline_ || awaiting_reload_;
  }
  /// The newest change discarded while awaiting the reload (ticket, position): the reload reads
  /// what it changed, so its begin counts it as applied, and the ACK may pass it.
  std::optional<std::pair<std::uint64_t, Position>> discarded_;
  void NoteDiscarded(const ChangeRun& run, std::uint32_t from, std::uint32_t to);
  /// Where the last update that could not be filled was (`PositionToString`): met again after the
  /// re-baseline it asked for, the baseline cannot supply the row (a source that re-baselines
  /// from an old snapshot and replays): a `DataError`, not the same re-baseline forever.
  std::optional<std::string> unfillable_at_;
  /// The target was not durable when last asked: ask again every poll interval.
  bool durable_pending_ = false;
  /// A baseline began while the ACK was held for a re-baseline: release the hold once the target
  /// says it is durable (its saved state then shows the baseline in progress).
  bool release_hold_when_durable_ = false;
  /// The batch being prepared for `OnChanges`, the run index of each entry, and the rows made
  /// for it (transformed or filled in); reused from batch to batch.
  std::vector<TargetChange> pending_;
  std::vector<std::uint32_t> pending_index_;
  std::deque<std::optional<Row>> made_rows_;

  std::atomic<bool> ready_{false};
  std::atomic<bool> reloading_{false};  // between a ReloadBeginStep and its ReloadEndStep
  /// The reload running is the pipeline's first load (a pipeline added while the engine runs): it
  /// is in Baseline state and not ready until the reload ends. Worker thread only.
  bool first_load_ = false;
  std::atomic<std::uint64_t> baseline_rows_{0};
  std::atomic<std::uint64_t> changes_applied_{0};
  std::stop_source hard_stop_;
  std::jthread worker_;
};

}  // namespace laredo::engine
