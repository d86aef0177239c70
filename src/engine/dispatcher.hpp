#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/ack_tracker.hpp"
#include "engine/batch_pool.hpp"
#include "engine/change_queue.hpp"
#include "engine/item.hpp"
#include "engine/pipeline.hpp"
#include "laredo/change_event.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/sync_source.hpp"

namespace laredo::engine {

/// Hands one source's output to its pipelines: the stream (as the `ChangeHandler` given to
/// `SyncSource::Stream`), baseline rows and control steps. Routes by table, numbers everything
/// positioned with dispatch sequence numbers, shares each batch among the pipelines of its table,
/// and publishes what reached every pipeline (`frontier()`) for the ACK.
///
/// Batching: the changes of one `OnChanges` call travel as one batch (at most `max_batch()`
/// changes, no more than the smallest pipeline buffer holds): one hand-off per pipeline, one
/// wake-up of its worker. `OnChange` is a batch of one. Baseline rows are gathered per table up
/// to `max_batch()` and handed off when full or at `FlushBaselineRows`.
///
/// Threading: everything runs on the source's lifecycle thread, except `frontier().Get()`.
class Dispatcher final : public ChangeHandler {
 public:
  Dispatcher(std::string source_id, SyncSource& source, const std::vector<Pipeline*>& pipelines,
             std::shared_ptr<EngineObserver> observer);

  [[nodiscard]] const std::vector<TableIdentifier>& tables() const { return tables_; }
  [[nodiscard]] const std::vector<Pipeline*>* PipelinesOf(const TableIdentifier& table) const;
  [[nodiscard]] PublishedFrontier& frontier() { return frontier_; }
  [[nodiscard]] const PublishedFrontier& frontier() const { return frontier_; }
  /// The newest progress report (`OnProgress`): its position, and the last item dispatched
  /// before it. Any thread.
  [[nodiscard]] AckPoint Progress() const { return progress_.Get(); }
  [[nodiscard]] std::uint64_t NextSeq() { return ++next_seq_; }
  [[nodiscard]] std::size_t max_batch() const { return max_batch_; }

  /// A pipeline added while the engine runs, between two Stream calls (lifecycle thread). It
  /// joins its table's route at the table's next load: the next `OnReloadBegin` of the table or
  /// the next baseline (`JoinAll`); until then it is given nothing, and changes of a table no
  /// other pipeline replicates are dropped without a word (the load reads them).
  void AddPipeline(Pipeline* pipeline);
  /// Every added pipeline joins its route (a baseline begins). Lifecycle thread.
  void JoinAll();

  /// A new Stream call starts (or the baseline, with `stop` its token): `stop` ends waits for
  /// buffer room. Clears the backpressure hook an earlier Stream left.
  void BeginStream(std::stop_token stop);
  /// Something was dispatched since `BeginStream` (the stream works again).
  [[nodiscard]] bool dispatched() const { return dispatched_; }
  /// Called once per stream, at its first dispatch.
  std::function<void()> on_first_dispatch;
  /// Called when the source reports a state change from inside `Stream`.
  std::function<void()> on_state_changed;

  /// Queues one baseline row of `table`; false when stopped.
  bool AddBaselineRow(const TableIdentifier& table, Row row, const std::stop_token& stop);
  /// Hands every gathered baseline row to its pipelines; false when stopped.
  bool FlushBaselineRows(const std::stop_token& stop);
  /// Frees recycled batches when the source was quiet since the last call (ACK thread).
  void TrimPools() {
    change_pool_->TrimIfIdle();
    row_pool_->TrimIfIdle();
  }
  /// Forgets gathered rows (a failed baseline attempt; the next begins every table again).
  void DropBaselineRows();

  /// Whether a snapshot barrier may be queued: closed while a baseline runs (the targets hold
  /// neither the old table nor the new one) and after a dispatch that was cut short (its batch
  /// reached some pipelines only); opened when the stream (re)starts after a baseline, a resume
  /// or a restore. Source thread, or any thread once it stopped.
  void SetBarriersOpen(bool open);
  /// The stream is about to start at `position` (dispatch number `seq`): runs `enqueue` (which
  /// queues each pipeline's last step before the stream: the baseline's end, a resume), then
  /// publishes the point and opens barriers, all in one turn, so a snapshot asked for as soon as a
  /// pipeline is ready finds barriers open. False (nothing published) when `enqueue` is.
  bool StartStreamAt(std::uint64_t seq, Position position, const std::function<bool()>& enqueue);
  /// Queues `step` to `pipelines` behind everything dispatched so far, so each of them reaches
  /// it holding exactly the changes up to the returned point; nullopt while barriers are closed.
  /// Any thread: it takes turns with the source thread's dispatches. The barrier never waits for
  /// buffer room (its weight is 0), so the source thread is held up only for the queueing.
  std::optional<AckPoint> InjectBarrier(const SnapshotStep& step,
                                        const std::vector<Pipeline*>& pipelines);

  // ChangeHandler
  void OnChange(ChangeEvent event) override;
  void OnChanges(std::span<ChangeEvent> events) override;
  void OnSchemaChange(const TableIdentifier& table, std::vector<ColumnDefinition> columns) override;
  void OnInvalidRecord(InvalidRecord record) override;
  void SetBackpressureHook(std::function<void()> hook, std::chrono::milliseconds interval) override;
  void OnReloadBegin(const TableIdentifier& table, std::vector<ColumnDefinition> columns) override;
  void OnReloadRows(const TableIdentifier& table, std::span<Row> rows) override;
  void OnReloadEnd(const TableIdentifier& table) override;
  void OnReloadCheckpoint(const TableIdentifier& table, std::string checkpoint) override;
  /// A reload of `table` continues from its checkpoint (a resume): snapshots wait for its end, as
  /// for one begun in this run. Lifecycle thread, before the first Stream.
  void NoteReloading(const TableIdentifier& table);
  [[nodiscard]] std::size_t MaxBatch() const override { return max_batch_; }
  void OnProgress(const Position& position) override { progress_.Publish(next_seq_, position); }
  void OnStateChanged(SourceState state) override {
    // A stream that says it streams works again, also when it has nothing to dispatch yet.
    if (state == SourceState::Streaming && on_first_dispatch) on_first_dispatch();
    if (on_state_changed) on_state_changed();  // the runner reads the state itself
  }

  /// The columns of every table as last reported (Init, a schema change, a baseline).
  std::map<TableIdentifier, std::vector<ColumnDefinition>> columns;

 private:
  struct Route {
    TableIdentifier table;
    std::vector<Pipeline*> pipelines;
    std::vector<Pipeline*> joining;  // added, waiting for the table's next load
    // The batch of baseline rows being gathered and how many of its slots are filled.
    BatchRef<Row> rows;
    std::size_t filled = 0;
  };
  /// Dispatches up to `max_batch_` events; false when stopped before every pipeline had them.
  bool DispatchBatch(std::span<ChangeEvent> events);
  bool FlushRows(Route& route, const std::stop_token& stop, const BackpressureHook* hook = nullptr);
  /// Gathers one row of `route`, handing the batch off once full; false when stopped.
  bool PutRow(Route& route, Row row, const std::stop_token& stop, const BackpressureHook* hook);
  /// The route index of `table`, or kNoRoute (logged) for a table no pipeline replicates.
  std::uint16_t RouteOf(const TableIdentifier& table);
  /// Adds `pipeline` to the route of its table (made when new); `join_later`: see AddPipeline.
  void Attach(Pipeline* pipeline, bool join_later);

  const std::string source_id_;
  SyncSource& source_;
  const std::shared_ptr<EngineObserver> observer_;
  std::vector<Pipeline*> pipelines_;
  // Shared with the pipelines (whose buffers hold batches), so each outlives every batch; declared
  // before the routes, whose row batches go back to them.
  std::shared_ptr<BatchPool<ChangeEvent>> change_pool_;
  std::shared_ptr<BatchPool<Row>> row_pool_;
  std::vector<TableIdentifier> tables_;
  std::vector<Route> routes_;
  std::unordered_map<TableIdentifier, std::uint16_t> route_index_;
  std::set<TableIdentifier> ignored_;  // tables without a route, logged once
  std::size_t max_batch_ = 1;

  // Held by every stream dispatch and by InjectBarrier, so a barrier lands between two batches in
  // every pipeline's buffer. Uncontended but for a snapshot: one lock per batch of up to 256.
  std::mutex dispatch_mu_;
  bool barriers_open_ = false;  // guarded by dispatch_mu_
  /// Tables being reloaded while the stream flows: no barrier until they are done (a target
  /// building aside holds neither the old table nor the new one). Guarded by dispatch_mu_.
  std::vector<TableIdentifier> reloading_;
  /// After a dispatch cut short: barriers stay closed until the stream has dispatched again up to
  /// the position of that batch's last change (a retried stream sends it again).
  std::optional<Position> reopen_after_;  // guarded by dispatch_mu_
  void CutShortLocked(const Position& last);

  std::uint64_t next_seq_ = 0;
  std::stop_token stop_;
  BackpressureHook hook_;
  bool dispatched_ = false;
  std::uint16_t cached_route_ = Batch<ChangeEvent>::kNoRoute;  // the table of the last change
  /// Per route, the changes of the batch being dispatched: [begin, end) and how many.
  struct Span {
    std::uint32_t begin = 0, end = 0, count = 0;
  };
  std::vector<Span> spans_;
  PublishedFrontier frontier_;
  PublishedFrontier progress_;  // not part of the ACK: read by AwaitApplied only
};

}  // namespace laredo::engine
