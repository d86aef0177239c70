#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/engine_observer.hpp"
#include "laredo/metrics/registry.hpp"

namespace laredo::metrics {

/// Options of `PrometheusObserver`.
struct PrometheusObserverOptions {
  /// Where the `laredo_*` families are registered; default a registry of the observer's own.
  /// Share one to render your own metrics next to laredo's (names must not collide).
  std::shared_ptr<Registry> registry{};
  /// Upper bounds (seconds) of `laredo_commit_to_apply_seconds`. Default 1 ms to 60 s.
  std::vector<double> commit_to_apply_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1.0,    2.5,   5.0,  10.0,  30.0, 60.0};
  /// Upper bounds (seconds) of `laredo_apply_duration_seconds` (one target call, which applies a
  /// batch of changes). Default 10 us to 10 s.
  std::vector<double> apply_duration_buckets{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005,
                                             0.01,    0.05,    0.1,    0.5,    1.0,   10.0};
};

/// An `EngineObserver` that keeps the `laredo_*` Prometheus metrics (see docs/operations.md for
/// the list). Pass it in `EngineOptions::observers` and serve `Render()` (or its registry) on
/// `/metrics`, e.g. with `laredo::http::Server`.
///
/// Threading contract: every method is thread-safe, as `EngineObserver` requires.
/// `OnChangeApplied` and `OnChangeDropped` take no lock and allocate nothing once a thread has
/// seen its pipeline (a per-thread cache of the resolved series); the other hooks are rare and
/// take a mutex.
class PrometheusObserver : public EngineObserver {
 public:
  explicit PrometheusObserver(PrometheusObserverOptions options = {});
  ~PrometheusObserver() override;
  PrometheusObserver(const PrometheusObserver&) = delete;
  PrometheusObserver& operator=(const PrometheusObserver&) = delete;

  /// The registry holding the metrics.
  [[nodiscard]] const std::shared_ptr<Registry>& GetRegistry() const noexcept;
  /// The exposition text of the registry (format 0.0.4).
  [[nodiscard]] std::string Render() const;

  void OnPipelineAdded(std::string_view pipeline_id, std::string_view source_id,
                       const TableIdentifier& table) override;
  void OnChangesApplied(std::string_view pipeline_id, std::size_t count,
                        std::chrono::nanoseconds duration) override;
  void OnLag(std::string_view source_id, const LagInfo& lag) override;
  void OnSourceStateChanged(std::string_view source_id, SourceState state) override;
  void OnPipelineStateChanged(std::string_view pipeline_id, PipelineState state) override;
  void OnBaselineStarted(std::string_view source_id, const TableIdentifier& table,
                         std::optional<std::uint64_t> estimated_rows) override;
  void OnBaselineProgress(std::string_view source_id, const TableIdentifier& table,
                          std::uint64_t rows, std::optional<std::uint64_t> estimated_rows) override;
  void OnBaselineCompleted(std::string_view pipeline_id, const TableIdentifier& table,
                           std::uint64_t rows) override;
  void OnChangesReceived(std::string_view pipeline_id, const TableIdentifier& table,
                         std::size_t count) override;
  void OnInvalidRecord(std::string_view source_id,
                       const std::optional<TableIdentifier>& table) override;
  void OnChangeFiltered(std::string_view pipeline_id, const ChangeEvent& event) override;
  void OnChangeApplied(std::string_view pipeline_id, const ChangeEvent& event) override;
  void OnAckAdvanced(std::string_view source_id, const Position& position,
                     std::string_view position_text) override;
  void OnBufferDepth(std::string_view pipeline_id, std::size_t depth,
                     std::size_t capacity) override;
  void OnChangeDropped(std::string_view pipeline_id, const ChangeEvent& event) override;
  void OnError(std::string_view component_id, std::string_view message, bool will_retry) override;
  void OnDeadLetter(const DeadLetter& letter) override;
  void OnRebaseline(std::string_view source_id, std::string_view reason) override;
  void OnSnapshotCompleted(const SnapshotReport& report) override;
  void OnSnapshotFailed(std::string_view snapshot_id, std::string_view reason) override;
  void OnSnapshotRestored(std::string_view source_id, const SnapshotReport& report) override;
  void OnSnapshotRestoreSkipped(std::string_view source_id, std::string_view snapshot_id,
                                std::string_view reason) override;
  void OnSchemaChange(std::string_view pipeline_id, const TableIdentifier& table,
                      const SchemaChangeResponse& response) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A PostgreSQL LSN as printed ("16/B374D848": two hex halves) as a byte offset in the WAL;
/// nullopt for any other text.
std::optional<std::uint64_t> ParsePgLsn(std::string_view text) noexcept;

}  // namespace laredo::metrics
