// A source runner's baseline: every table begins (once, with the columns it delivers), its rows
// flow to the pipelines in batches, and every pipeline ends with the baseline's position.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/source_runner.hpp"
#include "laredo/error.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

std::optional<Position> SourceRunner::RunBaseline(const std::stop_token& stop) {
  auto* estimator = dynamic_cast<BaselineSizeEstimator*>(source_.get());
  auto* reporting = dynamic_cast<SchemaReportingBaseline*>(source_.get());
  const auto& tables = dispatcher_.tables();
  for (int failures = 0;;) {
    {
      std::lock_guard lk(mu_);
      generation_.fetch_add(1);
      rebaseline_reason_.reset();  // this baseline answers every request made so far
    }
    dispatcher_.JoinAll();  // pipelines added since the last load are loaded with the others
    for (Pipeline* p : pipelines_) p->MarkNotReady();
    dispatcher_.SetBarriersOpen(false);  // until the stream after this baseline starts
    rebaselining_ = false;
    begun_.clear();
    rows_table_ = nullptr;
    baseline_stopped_ = false;
    baseline_counts_.clear();
    dispatcher_.DropBaselineRows();
    dispatcher_.BeginStream(stop);
    for (const auto& table : tables) {
      std::optional<std::uint64_t> estimate;
      if (estimator != nullptr) {
        try {
          estimate = estimator->EstimateRows(table);
        } catch (const std::exception&) {
          // An estimate is a nicety; the baseline goes on without one.
        }
      }
      baseline_estimates_[table] = estimate;
      observer_->OnBaselineStarted(id_, table, estimate);
    }
    Position position;
    try {
      const RowCallback on_row = [&](const TableIdentifier& table, Row row) {
        OnBaselineRow(table, std::move(row), stop);
      };
      if (reporting != nullptr) {
        const ColumnsCallback on_columns = [&](const TableIdentifier& table,
                                               std::vector<ColumnDefinition> columns) {
          if (dispatcher_.PipelinesOf(table) == nullptr || begun_[table]) return;
          dispatcher_.columns[table] = std::move(columns);
          BeginTable(table, stop);
        };
        position = reporting->BaselineWithColumns(stop, tables, on_columns, on_row);
      } else {
        position = source_->Baseline(stop, tables, on_row);
      }
    } catch (const std::exception& e) {
      if (stop.stop_requested()) return std::nullopt;
      if (!IsRetryable(e)) {
        Fail(std::string("Baseline failed (not retryable): ") + e.what());
        return std::nullopt;
      }
      if (++failures > options_.source_max_retries) {
        Fail(fmt::format("Baseline failed {} times: {}", failures, e.what()));
        return std::nullopt;
      }
      // The next attempt begins every table again: targets drop the failed attempt's rows.
      if (!Retry(stop, failures, std::string("Baseline failed, retrying: ") + e.what())) {
        return std::nullopt;
      }
      continue;
    }
    if (stop.stop_requested() || baseline_stopped_) return std::nullopt;
    if (!dispatcher_.FlushBaselineRows(stop)) return std::nullopt;
    for (const auto& table : tables) {  // tables without rows begin (and end) too
      if (!BeginTable(table, stop)) return std::nullopt;
    }
    for (const auto& [table, rows] : baseline_counts_) {
      if (rows % options_.baseline_progress_rows != 0) {  // else just reported
        observer_->OnBaselineProgress(id_, table, rows, baseline_estimates_[table]);
      }
    }
    const std::uint64_t seq = dispatcher_.NextSeq();
    const bool queued = dispatcher_.StartStreamAt(seq, position, [&] {
      for (Pipeline* p : pipelines_) {
        if (!p->Enqueue(BaselineCompleteStep{.seq = seq, .position = position}, stop)) return false;
      }
      return true;
    });
    if (!queued) return std::nullopt;
    ClearRetryError();
    return position;
  }
}

bool SourceRunner::BeginTable(const TableIdentifier& table, const std::stop_token& stop) {
  bool& begun = begun_[table];
  if (begun) return true;
  begun = true;
  const auto* route = dispatcher_.PipelinesOf(table);
  if (route == nullptr) return true;
  auto columns = std::make_shared<const std::vector<ColumnDefinition>>(dispatcher_.columns[table]);
  const auto generation = generation_.load();
  for (Pipeline* p : *route) {
    if (!p->Enqueue(BaselineBeginStep{.columns = columns, .generation = generation}, stop)) {
      baseline_stopped_ = true;
      return false;
    }
  }
  return true;
}

void SourceRunner::OnBaselineRow(const TableIdentifier& table, Row row,
                                 const std::stop_token& stop) {
  if (baseline_stopped_) return;
  // Sources deliver runs of one table: the begin is looked up only when the table changes.
  if (rows_table_ == nullptr || !(*rows_table_ == table)) {
    const auto* route = dispatcher_.PipelinesOf(table);
    if (route == nullptr) return;
    if (!BeginTable(table, stop)) return;
    rows_table_ = &route->front()->table();
    rows_count_ = &baseline_counts_[table];
  }
  const auto rows = ++*rows_count_;
  if (rows % options_.baseline_progress_rows == 0) {
    observer_->OnBaselineProgress(id_, table, rows, baseline_estimates_[table]);
  }
  if (!dispatcher_.AddBaselineRow(table, std::move(row), stop)) baseline_stopped_ = true;
}

}  // namespace laredo::engine
