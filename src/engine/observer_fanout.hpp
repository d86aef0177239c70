#pragma once

#include <memory>
#include <vector>

#include "laredo/engine_observer.hpp"

namespace laredo::engine {

/// The engine's one observer: calls each of `EngineOptions::observers` in order, so the engine's
/// parts hold a single pointer and the hot path pays one virtual call per observer, none when
/// there is none (the engine then uses a plain `EngineObserver`). A new hook of `EngineObserver`
/// must be forwarded here too, and listed in tests/engine/observer_fanout_test.cpp.
///
/// Threading: like any observer; holds nothing mutable.
class FanoutObserver final : public EngineObserver {
 public:
  explicit FanoutObserver(std::vector<std::shared_ptr<EngineObserver>> observers)
      : observers_(std::move(observers)) {}

  /// One observer for `observers`: a no-op one, the only one, or a fan-out.
  static std::shared_ptr<EngineObserver> For(
      std::vector<std::shared_ptr<EngineObserver>> observers);

  void OnPipelineAdded(std::string_view pipeline_id, std::string_view source_id,
                       const TableIdentifier& table) override {
    for (const auto& o : observers_) o->OnPipelineAdded(pipeline_id, source_id, table);
  }
  void OnSourceStateChanged(std::string_view source_id, SourceState state) override {
    for (const auto& o : observers_) o->OnSourceStateChanged(source_id, state);
  }
  void OnPipelineStateChanged(std::string_view pipeline_id, PipelineState state) override {
    for (const auto& o : observers_) o->OnPipelineStateChanged(pipeline_id, state);
  }
  void OnBaselineStarted(std::string_view source_id, const TableIdentifier& table,
                         std::optional<std::uint64_t> estimated_rows) override {
    for (const auto& o : observers_) o->OnBaselineStarted(source_id, table, estimated_rows);
  }
  void OnBaselineProgress(std::string_view source_id, const TableIdentifier& table,
                          std::uint64_t rows,
                          std::optional<std::uint64_t> estimated_rows) override {
    for (const auto& o : observers_) o->OnBaselineProgress(source_id, table, rows, estimated_rows);
  }
  void OnBaselineCompleted(std::string_view pipeline_id, const TableIdentifier& table,
                           std::uint64_t rows) override {
    for (const auto& o : observers_) o->OnBaselineCompleted(pipeline_id, table, rows);
  }
  void OnChangesReceived(std::string_view pipeline_id, const TableIdentifier& table,
                         std::size_t count) override {
    for (const auto& o : observers_) o->OnChangesReceived(pipeline_id, table, count);
  }
  void OnChangeFiltered(std::string_view pipeline_id, const ChangeEvent& event) override {
    for (const auto& o : observers_) o->OnChangeFiltered(pipeline_id, event);
  }
  void OnInvalidRecord(std::string_view source_id,
                       const std::optional<TableIdentifier>& table) override {
    for (const auto& o : observers_) o->OnInvalidRecord(source_id, table);
  }
  void OnChangeApplied(std::string_view pipeline_id, const ChangeEvent& event) override {
    for (const auto& o : observers_) o->OnChangeApplied(pipeline_id, event);
  }
  void OnChangesApplied(std::string_view pipeline_id, std::size_t count,
                        std::chrono::nanoseconds duration) override {
    for (const auto& o : observers_) o->OnChangesApplied(pipeline_id, count, duration);
  }
  void OnLag(std::string_view source_id, const LagInfo& lag) override {
    for (const auto& o : observers_) o->OnLag(source_id, lag);
  }
  void OnAckAdvanced(std::string_view source_id, const Position& position,
                     std::string_view position_text) override {
    for (const auto& o : observers_) o->OnAckAdvanced(source_id, position, position_text);
  }
  void OnBufferDepth(std::string_view pipeline_id, std::size_t depth,
                     std::size_t capacity) override {
    for (const auto& o : observers_) o->OnBufferDepth(pipeline_id, depth, capacity);
  }
  void OnChangeDropped(std::string_view pipeline_id, const ChangeEvent& event) override {
    for (const auto& o : observers_) o->OnChangeDropped(pipeline_id, event);
  }
  void OnError(std::string_view component_id, std::string_view message, bool will_retry) override {
    for (const auto& o : observers_) o->OnError(component_id, message, will_retry);
  }
  void OnDeadLetter(const DeadLetter& letter) override {
    for (const auto& o : observers_) o->OnDeadLetter(letter);
  }
  void OnRebaseline(std::string_view source_id, std::string_view reason) override {
    for (const auto& o : observers_) o->OnRebaseline(source_id, reason);
  }
  void OnSchemaChange(std::string_view pipeline_id, const TableIdentifier& table,
                      const SchemaChangeResponse& response) override {
    for (const auto& o : observers_) o->OnSchemaChange(pipeline_id, table, response);
  }
  void OnSnapshotStarted(std::string_view snapshot_id) override {
    for (const auto& o : observers_) o->OnSnapshotStarted(snapshot_id);
  }
  void OnSnapshotCompleted(const SnapshotReport& report) override {
    for (const auto& o : observers_) o->OnSnapshotCompleted(report);
  }
  void OnSnapshotFailed(std::string_view snapshot_id, std::string_view reason) override {
    for (const auto& o : observers_) o->OnSnapshotFailed(snapshot_id, reason);
  }
  void OnSnapshotRestored(std::string_view source_id, const SnapshotReport& report) override {
    for (const auto& o : observers_) o->OnSnapshotRestored(source_id, report);
  }
  void OnSnapshotRestoreSkipped(std::string_view source_id, std::string_view snapshot_id,
                                std::string_view reason) override {
    for (const auto& o : observers_) o->OnSnapshotRestoreSkipped(source_id, snapshot_id, reason);
  }

 private:
  std::vector<std::shared_ptr<EngineObserver>> observers_;
};

inline std::shared_ptr<EngineObserver> FanoutObserver::For(
    std::vector<std::shared_ptr<EngineObserver>> observers) {
  std::erase(observers, nullptr);
  if (observers.empty()) return std::make_shared<EngineObserver>();
  if (observers.size() == 1) return observers.front();
  return std::make_shared<FanoutObserver>(std::move(observers));
}

}  // namespace laredo::engine
