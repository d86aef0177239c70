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
#include <thread>
#include <vector>

#include "engine/ack_tracker.hpp"
#include "engine/ring_buffer.hpp"
#include "engine/row_stage.hpp"
#include "laredo/change_event.hpp"
#include "laredo/engine.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/pipeline_options.hpp"
#include "laredo/sync_target.hpp"

namespace laredo::engine {

/// One unit of work queued for a pipeline. Baseline rows and control items travel in the same
/// queue as changes, so a target sees them in source order.
struct Item {
  enum class Kind : std::uint8_t {
    Init,              // OnInit(columns)
    BaselineBegin,     // OnBaselineBegin(columns): a baseline of `generation` starts
    BaselineRow,       // OnBaselineRow(row)
    BaselineComplete,  // OnBaselineComplete; carries the baseline position's sequence number
    Change,            // a change event
    SchemaChange,      // OnSchemaChange(columns)
    Resume,            // no baseline: the source resumed and the target kept its rows
  };
  Kind kind = Kind::Change;
  /// For BaselineBegin: the source runner's baseline counter, so a re-baseline request made while
  /// applying changes of an older stream is recognised as already answered.
  std::uint64_t generation = 0;
  /// Dispatch sequence number for items that carry a position (Change, BaselineComplete); 0 else.
  std::uint64_t seq = 0;
  /// The change; for BaselineComplete and Resume, a carrier of the position.
  std::shared_ptr<const ChangeEvent> event;
  Row row;
  std::shared_ptr<const std::vector<ColumnDefinition>> columns;
};

/// What a pipeline asks of its source runner when its error policy says so.
struct PipelineCallbacks {
  /// Stop the source (ErrorAction::StopSource) or the whole engine (StopEngine).
  std::function<void(const std::string& reason, bool whole_engine)> stop;
  /// The pipeline needs a fresh baseline (its target answered a schema change with ReBaseline, or
  /// a change carried Unchanged values it cannot fill in); `generation` is that of the baseline the
  /// pipeline applied last.
  std::function<void(const std::string& reason, std::uint64_t generation)> rebaseline;
  /// The pipeline's readiness or failure changed (wakes `AwaitReady`).
  std::function<void()> status_changed;
  /// Prints a position for dead letters.
  std::function<std::string(const Position&)> position_to_string;
};

/// A source's `ChangeHandler::SetBackpressureHook`.
struct BackpressureHook {
  std::function<void()> hook;
  std::chrono::milliseconds interval{100};
};

/// A bounded buffer plus the worker thread that applies it to one target.
///
/// Threading: `Enqueue` is called by the source thread only; `Watermark`, `Status`, `SetPaused`,
/// `BeginDrain` from any thread. The target is called from the worker thread only (serialised by
/// `target_mutex` when the target is shared with other pipelines).
class Pipeline {
 public:
  /// `spin_before_sleep`: poll briefly for the next change before sleeping; worth it only when
  /// every busy engine thread has a core of its own.
  Pipeline(std::string id, std::string source_id, TableIdentifier table,
           std::shared_ptr<SyncTarget> target, PipelineOptions options,
           std::shared_ptr<EngineObserver> observer, std::shared_ptr<std::mutex> target_mutex,
           bool spin_before_sleep);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void Start(PipelineCallbacks callbacks);

  /// Queues `item`. Blocks while the buffer is full (always for baseline and control items, and
  /// for changes under BufferPolicy::Block or while paused) until there is room or `stop` is
  /// triggered. Returns false when the item was not queued because of `stop`. Items offered to a
  /// halted (failed, isolated or stopped) pipeline are discarded; it keeps holding the ACK.
  /// A BaselineBegin makes the pipeline not ready at once (not only once the worker reaches it).
  /// `while_blocked`, when set, runs on the calling thread every `while_blocked->interval` while
  /// the call waits for room (without the buffer's lock); its exceptions leave the call with the
  /// item not queued.
  bool Enqueue(Item item, const std::stop_token& stop,
               const BackpressureHook* while_blocked = nullptr);

  /// Where this pipeline allows the ACK to stand: `published` when everything it received is
  /// durable, else the newest point it made durable (conservative: items of other pipelines between
  /// that point and its oldest unconfirmed item are not counted). A halted pipeline (isolated,
  /// failed, stopped) never leaves the computation: what it discarded stays unconfirmed, so it
  /// holds the ACK at the newest point it made durable and nothing it did not apply is released.
  [[nodiscard]] AckPoint Watermark(const AckPoint& published) const;

  /// Not ready from now until the next baseline completes (source thread, at a baseline's start).
  void MarkNotReady() { ready_.store(false, std::memory_order_release); }
  void SetPaused(bool paused);
  /// Apply what is buffered until empty or `deadline`, then call `OnClose` and exit.
  void BeginDrain(std::chrono::steady_clock::time_point deadline);
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
  [[nodiscard]] const DeadLetterSink* dead_letter_sink() const {
    return options_.dead_letter.get();
  }
  /// Reports `letter` to the observer and writes it to this pipeline's sink (logs it when there is
  /// none). A failing sink is logged and reported; the letter is then lost. Any thread.
  void DeliverDeadLetter(const DeadLetter& letter);

 private:
  void Run(std::stop_token stop);
  /// Drops an item offered to a halted pipeline (under `mu_`); returns true (Enqueue's answer).
  bool DiscardLocked(const Item& item);
  /// Applies one item with retries. Returns false when the pipeline must stop applying.
  bool ApplyWithRetry(Item& item, std::stop_token stop);
  /// Applies one item; false when the item was not applied because the pipeline waits for a
  /// re-baseline (the item must not count as applied).
  bool ApplyOnce(Item& item);
  bool ApplyChange(const ChangeEvent& event);
  bool ApplyUpdate(const ChangeEvent& event);
  /// Asks for a re-baseline and discards changes until it begins; they are not confirmed, so the
  /// ACK cannot pass them before the baseline that replaces them is applied.
  void AwaitRebaseline(const std::string& reason);
  void Fail(const std::string& reason, const Item* item, int attempts);
  void WriteDeadLetter(const Item& item, const std::string& error, int attempts);
  void SetState(PipelineState state);
  void ConfirmApplied();
  void MarkApplied(Item& item);
  [[nodiscard]] bool DrainExpired() const;

  const std::string id_;
  const std::string source_id_;
  const TableIdentifier table_;
  const std::shared_ptr<SyncTarget> target_;
  const PipelineOptions options_;
  const std::shared_ptr<EngineObserver> observer_;
  const std::shared_ptr<std::mutex> target_mutex_;  // null unless the target is shared
  const bool spin_before_sleep_;
  PipelineCallbacks callbacks_;

  mutable std::mutex mu_;
  std::condition_variable_any not_empty_;
  std::condition_variable_any not_full_;
  RingBuffer<Item> queue_;
  /// Sequence numbers queued or applied but not yet durable, oldest first.
  std::deque<std::uint64_t> unconfirmed_;
  /// Applied items waiting to be destroyed: by the source thread, one per Enqueue (their rows were
  /// allocated there; freeing them on that thread, one per new allocation, keeps glibc's malloc on
  /// its per-thread cache), or by the worker after it has been idle for a while.
  std::vector<Item> graveyard_;

  /// The newest item made durable.
  AckPoint confirmed_;
  /// Bumped by every Enqueue: the worker spins on it briefly before sleeping.
  std::atomic<std::uint64_t> enqueued_{0};
  bool paused_ = false;
  bool worker_waiting_ = false;  // the worker sleeps on `not_empty_`
  bool draining_ = false;
  bool halted_ = false;
  bool awaiting_rebaseline_held_ = false;  // the worker's awaiting_rebaseline_, for Watermark
  bool discarded_marked_ = false;          // an item discarded after the halt is in unconfirmed_
  PipelineState state_ = PipelineState::Pending;
  std::string last_error_;
  std::vector<ColumnDefinition> columns_;
  RowStage rows_;

  // Worker-thread only: the generation of the last baseline begun, and whether changes are being
  // discarded until the next one (see AwaitRebaseline).
  std::uint64_t generation_ = 0;
  bool awaiting_rebaseline_ = false;
  // Worker-thread only: the newest positioned item applied, durable or not. The event is moved
  // out of the item (no reference-count traffic); its position is copied once per batch.
  std::uint64_t applied_seq_ = 0;
  std::shared_ptr<const ChangeEvent> applied_event_;
  bool durable_pending_ = false;

  std::atomic<bool> ready_{false};
  std::atomic<std::uint64_t> baseline_rows_{0};
  std::atomic<std::uint64_t> changes_applied_{0};
  /// steady_clock ticks of the drain deadline; 0 while not draining. Read per item while draining.
  std::atomic<std::int64_t> drain_deadline_{0};
  bool exited_ = false;
  std::condition_variable exited_cv_;
  std::stop_source hard_stop_;
  std::jthread worker_;
};

}  // namespace laredo::engine
