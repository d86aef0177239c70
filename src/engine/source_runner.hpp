#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/ack_tracker.hpp"
#include "engine/pipeline.hpp"
#include "laredo/engine.hpp"
#include "laredo/sync_source.hpp"

namespace laredo::engine {

/// Runs one source: its lifecycle thread (Init, ValidateTables, Baseline, Stream, retries and
/// re-baselines), the demultiplexing of its stream into pipelines (as the `ChangeHandler`), and
/// its ACK thread.
///
/// Threading: `OnChange`/`OnSchemaChange` run on the lifecycle thread (inside `Stream`); the
/// status accessors, `Pause`, `Resume` and `StopFromPipeline` from any thread.
class SourceRunner final : public ChangeHandler {
 public:
  struct Hooks {
    std::function<void()> status_changed;
    std::function<void(const std::string& reason)> stop_engine;
  };

  SourceRunner(std::string id, std::shared_ptr<SyncSource> source, const EngineOptions& options,
               std::vector<Pipeline*> pipelines, Hooks hooks);
  ~SourceRunner() override;
  SourceRunner(const SourceRunner&) = delete;
  SourceRunner& operator=(const SourceRunner&) = delete;

  void Start();
  /// Ends the stream (and any baseline or retry wait) and joins the lifecycle thread.
  void StopAndJoinSource();
  /// Stops the ACK thread, sends the final ACK, then `Close()`s the source.
  void Finish();

  void Pause();
  void Resume();
  /// A pipeline's error policy stops this source.
  void StopFromPipeline(const std::string& reason);
  /// A pipeline needs a fresh baseline: ends the stream and baselines again. Ignored when a
  /// baseline newer than `generation` (the pipeline's last) has begun since: it answers it.
  void RequestRebaseline(const std::string& reason, std::uint64_t generation);
  /// A re-baseline was asked for or is running: the source's pipelines are not ready.
  [[nodiscard]] bool Rebaselining() const { return rebaselining_.load(); }

  [[nodiscard]] Position LastAcked() const;
  [[nodiscard]] std::string LastAckedText() const;
  /// Why the source failed; while it retries, the failure it is retrying (cleared once it works
  /// again).
  [[nodiscard]] std::optional<std::string> Error() const;
  /// True once the source failed for good.
  [[nodiscard]] bool Failed() const;
  [[nodiscard]] SourceState State() const;
  [[nodiscard]] LagInfo Lag() const { return source_->GetLag(); }
  [[nodiscard]] const std::string& id() const { return id_; }

  // ChangeHandler: called by the source inside Stream.
  void OnChange(ChangeEvent event) override;
  void OnSchemaChange(const TableIdentifier& table, std::vector<ColumnDefinition> columns) override;
  void OnInvalidRecord(InvalidRecord record) override;
  void SetBackpressureHook(std::function<void()> hook, std::chrono::milliseconds interval) override;

 private:
  void Run(std::stop_token stop);
  /// One baseline into every pipeline; its end position, or nullopt (stopped or failed).
  std::optional<Position> RunBaseline(std::stop_token stop);
  void ClearRetryError();
  void OnBaselineRow(const TableIdentifier& table, Row row, const std::stop_token& stop);
  /// Records `message` as the failure being retried, then waits out the retry delay (reporting
  /// Reconnecting meanwhile); false when stopped.
  bool Retry(std::stop_token stop, int failures, const std::string& message);
  /// Queues the start of `table`'s baseline, once per baseline, with the columns it delivers.
  bool BeginTable(const TableIdentifier& table, const std::stop_token& stop);
  void Fail(const std::string& message);
  void AckLoop(std::stop_token stop);
  void TryAck();
  void ReportState();
  const std::vector<Pipeline*>* Route(const TableIdentifier& table);

  const std::string id_;
  const std::shared_ptr<SyncSource> source_;
  const EngineOptions options_;
  const std::vector<Pipeline*> pipelines_;
  const Hooks hooks_;
  std::vector<TableIdentifier> tables_;
  std::unordered_map<TableIdentifier, std::vector<Pipeline*>> routes_;

  // Lifecycle thread only.
  std::uint64_t next_seq_ = 0;
  std::stop_token stream_stop_;
  /// The running Stream's hook (cleared before each Stream call).
  BackpressureHook backpressure_hook_;
  const TableIdentifier* cached_table_ = nullptr;
  const std::vector<Pipeline*>* cached_route_ = nullptr;
  bool dispatched_since_failure_ = false;
  std::map<TableIdentifier, std::uint64_t> baseline_counts_;
  /// Every table's columns as last reported (Init, a schema change, or the baseline itself).
  std::map<TableIdentifier, std::vector<ColumnDefinition>> columns_;
  /// Tables whose BaselineBegin the running baseline queued.
  std::map<TableIdentifier, bool> begun_;
  const TableIdentifier* begun_cache_ = nullptr;  // the key of the table whose rows flow now
  bool baseline_stopped_ = false;  // an Enqueue inside the baseline callbacks saw the stop
  std::map<TableIdentifier, std::optional<std::uint64_t>> baseline_estimates_;

  PublishedFrontier frontier_;

  mutable std::mutex mu_;  // guards the members below
  std::condition_variable_any wake_;
  std::optional<std::string> error_;
  std::optional<std::string> retry_error_;  // the failure being retried
  bool retrying_ = false;
  std::optional<std::string> rebaseline_reason_;
  std::stop_source stream_source_;
  bool paused_ = false;
  std::atomic<std::uint64_t> generation_{0};  // baselines begun
  std::atomic<bool> rebaselining_{false};
  SourceState reported_state_ = SourceState::Closed;

  mutable std::mutex ack_mu_;  // serialises TryAck; guards the ACK state
  Position last_acked_;
  std::string last_acked_text_;
  std::uint64_t last_acked_seq_ = 0;
  std::string last_ack_error_;  // the failure last reported, so it is not repeated every interval

  std::jthread thread_;
  std::jthread ack_thread_;
};

}  // namespace laredo::engine
