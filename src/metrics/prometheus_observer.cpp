// The observer's hooks: each turns one engine event into metric updates.
#include "laredo/metrics/prometheus_observer.hpp"

#include <chrono>

#include "laredo/dead_letter.hpp"
#include "metrics/observer_impl.hpp"

namespace laredo::metrics {
namespace {

std::string_view ActionName(SchemaChangeResponse::Action action) {
  switch (action) {
    case SchemaChangeResponse::Action::Continue:
      return "continue";
    case SchemaChangeResponse::Action::ReBaseline:
      return "rebaseline";
    case SchemaChangeResponse::Action::Error:
      return "error";
  }
  return "unknown";
}

double SecondsSinceEpoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

PrometheusObserver::PrometheusObserver(PrometheusObserverOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

PrometheusObserver::~PrometheusObserver() = default;

const std::shared_ptr<Registry>& PrometheusObserver::GetRegistry() const noexcept {
  return impl_->registry;
}

std::string PrometheusObserver::Render() const { return impl_->registry->Render(); }

void PrometheusObserver::OnPipelineAdded(std::string_view pipeline_id, std::string_view source_id,
                                         const TableIdentifier& table) {
  // Resolved now, so every pipeline's series exist (at 0) before its first change.
  impl_->Hot(pipeline_id, table);
  std::lock_guard lk(impl_->mu);
  impl_->source_of.insert_or_assign(std::string(pipeline_id), std::string(source_id));
  impl_->apply_durations.try_emplace(std::string(pipeline_id),
                                     impl_->apply_duration.WithLabels({std::string(pipeline_id)}));
}

void PrometheusObserver::OnChangesApplied(std::string_view pipeline_id, std::size_t count,
                                          std::chrono::nanoseconds duration) {
  (void)count;
  Histogram histogram;
  {
    // Once per target call (a batch), not per change: an uncontended lock is cheap enough.
    std::lock_guard lk(impl_->mu);
    auto it = impl_->apply_durations.find(pipeline_id);
    if (it == impl_->apply_durations.end()) {
      it = impl_->apply_durations
               .try_emplace(std::string(pipeline_id),
                            impl_->apply_duration.WithLabels({std::string(pipeline_id)}))
               .first;
    }
    histogram = it->second;
  }
  histogram.Observe(std::chrono::duration<double>(duration).count());
}

void PrometheusObserver::OnLag(std::string_view source_id, const LagInfo& lag) {
  const std::vector<std::string> labels{std::string(source_id)};
  impl_->lag_bytes.WithLabels(labels).Set(static_cast<double>(lag.lag_bytes));
  if (lag.lag_time) {
    impl_->lag_seconds.WithLabels(labels).Set(std::chrono::duration<double>(*lag.lag_time).count());
  }
}

void PrometheusObserver::OnSourceStateChanged(std::string_view source_id, SourceState state) {
  impl_->SetSourceState(source_id, state);
}

void PrometheusObserver::OnPipelineStateChanged(std::string_view pipeline_id, PipelineState state) {
  impl_->SetPipelineState(pipeline_id, state);
}

void PrometheusObserver::OnBaselineStarted(std::string_view source_id, const TableIdentifier& table,
                                           std::optional<std::uint64_t> estimated_rows) {
  const std::vector<std::string> labels{std::string(source_id), table.ToString()};
  impl_->baseline_rows_read.WithLabels(labels).Set(0);
  if (estimated_rows) {
    impl_->baseline_rows_estimated.WithLabels(labels).Set(static_cast<double>(*estimated_rows));
  }
  std::lock_guard lk(impl_->mu);
  impl_->baseline_starts[{std::string(source_id), table}] = Impl::Clock::now();
}

void PrometheusObserver::OnBaselineProgress(std::string_view source_id,
                                            const TableIdentifier& table, std::uint64_t rows,
                                            std::optional<std::uint64_t> estimated_rows) {
  const std::vector<std::string> labels{std::string(source_id), table.ToString()};
  impl_->baseline_rows_read.WithLabels(labels).Set(static_cast<double>(rows));
  if (estimated_rows) {
    impl_->baseline_rows_estimated.WithLabels(labels).Set(static_cast<double>(*estimated_rows));
  }
}

void PrometheusObserver::OnBaselineCompleted(std::string_view pipeline_id,
                                             const TableIdentifier& table, std::uint64_t rows) {
  const std::vector<std::string> labels{std::string(pipeline_id), table.ToString()};
  impl_->baseline_rows.WithLabels(labels).Inc(static_cast<double>(rows));
  if (const auto start = impl_->BaselineStart(pipeline_id, table)) {
    impl_->baseline_duration.WithLabels(labels).Set(
        std::chrono::duration<double>(Impl::Clock::now() - *start).count());
  }
}

void PrometheusObserver::OnChangesReceived(std::string_view pipeline_id,
                                           const TableIdentifier& table, std::size_t count) {
  impl_->Hot(pipeline_id, table).received.Inc(static_cast<double>(count));
}

void PrometheusObserver::OnChangeFiltered(std::string_view pipeline_id, const ChangeEvent& event) {
  impl_->Hot(pipeline_id, event.table).filtered.Inc();
}

void PrometheusObserver::OnInvalidRecord(std::string_view source_id,
                                         const std::optional<TableIdentifier>& table) {
  (void)table;
  impl_->invalid_records.WithLabels({std::string(source_id)}).Inc();
}

void PrometheusObserver::OnChangeApplied(std::string_view pipeline_id, const ChangeEvent& event) {
  auto& series = impl_->Hot(pipeline_id, event.table);
  series.applied.Inc();
  if (event.commit_time) {
    // Wall clocks of two machines: a commit "in the future" is skew, counted as no delay.
    const auto delay = std::chrono::system_clock::now() - *event.commit_time;
    series.commit_to_apply.Observe(
        delay.count() < 0 ? 0.0 : std::chrono::duration<double>(delay).count());
  }
}

void PrometheusObserver::OnAckAdvanced(std::string_view source_id, const Position& position,
                                       std::string_view position_text) {
  (void)position;
  const std::vector<std::string> labels{std::string(source_id)};
  impl_->acks.WithLabels(labels).Inc();
  impl_->ack_time.WithLabels(labels).Set(SecondsSinceEpoch());
  // Only PostgreSQL positions are byte offsets; a gauge of sequence numbers would mislead.
  if (const auto lsn = ParsePgLsn(position_text)) {
    impl_->ack_position.WithLabels(labels).Set(static_cast<double>(*lsn));
  }
}

void PrometheusObserver::OnBufferDepth(std::string_view pipeline_id, std::size_t depth,
                                       std::size_t capacity) {
  const std::vector<std::string> labels{std::string(pipeline_id)};
  impl_->buffer_depth.WithLabels(labels).Set(static_cast<double>(depth));
  impl_->buffer_capacity.WithLabels(labels).Set(static_cast<double>(capacity));
}

void PrometheusObserver::OnChangeDropped(std::string_view pipeline_id, const ChangeEvent& event) {
  impl_->Hot(pipeline_id, event.table).dropped.Inc();
}

void PrometheusObserver::OnError(std::string_view component_id, std::string_view message,
                                 bool will_retry) {
  // The message stays out of the labels: free text would make one series per failure.
  (void)message;
  impl_->errors.WithLabels({std::string(component_id), will_retry ? "true" : "false"}).Inc();
}

void PrometheusObserver::OnDeadLetter(const DeadLetter& letter) {
  impl_->dead_letters.WithLabels({letter.pipeline_id, letter.table.ToString(), letter.operation})
      .Inc();
}

void PrometheusObserver::OnRebaseline(std::string_view source_id, std::string_view reason) {
  (void)reason;
  impl_->rebaselines.WithLabels({std::string(source_id)}).Inc();
}

void PrometheusObserver::OnSchemaChange(std::string_view pipeline_id, const TableIdentifier& table,
                                        const SchemaChangeResponse& response) {
  impl_->schema_changes
      .WithLabels(
          {std::string(pipeline_id), table.ToString(), std::string(ActionName(response.action))})
      .Inc();
}

void PrometheusObserver::OnSnapshotCompleted(const SnapshotReport& report) {
  impl_->snapshots.WithLabels({"completed"}).Inc();
  impl_->snapshot_rows.WithLabels({}).Set(static_cast<double>(report.rows));
  impl_->snapshot_bytes.WithLabels({}).Set(static_cast<double>(report.bytes));
  impl_->snapshot_duration.WithLabels({}).Set(
      std::chrono::duration<double>(report.duration).count());
  impl_->snapshot_time.WithLabels({}).Set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void PrometheusObserver::OnSnapshotFailed(std::string_view snapshot_id, std::string_view reason) {
  (void)snapshot_id, (void)reason;
  impl_->snapshots.WithLabels({"failed"}).Inc();
}

void PrometheusObserver::OnSnapshotRestored(std::string_view source_id,
                                            const SnapshotReport& report) {
  const std::string source(source_id);
  impl_->restores.WithLabels({source, "restored"}).Inc();
  impl_->restore_rows.WithLabels({source}).Set(static_cast<double>(report.rows));
  impl_->restore_duration.WithLabels({source}).Set(
      std::chrono::duration<double>(report.duration).count());
}

void PrometheusObserver::OnSnapshotRestoreSkipped(std::string_view source_id,
                                                  std::string_view snapshot_id,
                                                  std::string_view reason) {
  (void)snapshot_id, (void)reason;
  impl_->restores.WithLabels({std::string(source_id), "skipped"}).Inc();
}

}  // namespace laredo::metrics
