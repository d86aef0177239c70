// The pipeline's control steps and baseline rows (see pipeline.hpp for the flow).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/pipeline.hpp"
#include "engine/target_lock.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

void Pipeline::ApplyInit(const InitStep& step) {
  TargetLock lock(target_mutex_);
  target_->OnInit(table_, *step.columns);
  columns_ = *step.columns;
}

void Pipeline::ApplyBaselineBegin(const BaselineBeginStep& step) {
  ready_.store(false, std::memory_order_release);
  {
    TargetLock lock(target_mutex_);
    target_->OnBaselineBegin(table_, *step.columns);
  }
  columns_ = *step.columns;
  generation_ = step.generation;
  awaiting_rebaseline_ = false;
  awaiting_reload_ = false;  // the baseline reads the table too
  discarded_.reset();
  // Once the target has made this begin durable, a restart finds it mid-baseline (see
  // KeepsStateAcrossRestarts) and baselines again, so the ACK no longer needs holding for the
  // re-baseline request; until then it does (ConfirmApplied releases it).
  release_hold_when_durable_ = true;
  baseline_rows_.store(0);
  reloading_.store(false);  // a reload begun before is superseded
  first_load_ = false;
  SetState(PipelineState::Baseline);
}

bool Pipeline::ApplyBaselineRows(BaselineRows& rows, const std::stop_token& stop) {
  for (const Row& raw : rows.rows->items) {
    std::optional<Row> storage;
    const Row* row = nullptr;
    const auto attempt = [&] {
      if (!rows_.Passes(raw)) return;
      row = rows_.Transform(raw, storage);
      if (row == nullptr) return;
      TargetLock lock(target_mutex_);
      target_->OnBaselineRow(table_, *row);
      baseline_rows_.fetch_add(1, std::memory_order_relaxed);
    };
    std::exception_ptr failed;
    try {
      attempt();  // the common case, without the retry machinery
      continue;
    } catch (const std::exception&) {
      failed = std::current_exception();
    }
    const auto letter = [&](const std::string& error, int attempts) {
      dead_letters_.WriteBaselineRow(raw, error, attempts);
    };
    if (WithRetry("baseline_row", attempt, letter, stop, failed) == Outcome::Halt) return false;
  }
  return true;
}

void Pipeline::ApplyBaselineComplete() {
  {
    TargetLock lock(target_mutex_);
    target_->OnBaselineComplete(table_);
  }
  ClearRetryError();
  SetState(PipelineState::Streaming);
  ready_.store(true, std::memory_order_release);
  observer_->OnBaselineCompleted(id_, table_, baseline_rows_.load());
  upstream_->PipelineStatusChanged();
}

void Pipeline::ApplyResume(const ResumeStep& step) {
  if (step.reload_continues) {
    // The target holds part of a reload the source goes on with: loading, as at a baseline,
    // until the reload's end swaps the new copy in (whether it was a first load is not known).
    observer_->OnBaselineStarted(source_id_, table_, std::nullopt);
    baseline_rows_.store(0);
    reloading_.store(true);
    first_load_ = true;
    SetState(PipelineState::Baseline);
    Logger()->info("pipeline {}: continuing the reload of its table from its checkpoint", id_);
    upstream_->PipelineStatusChanged();
    return;
  }
  SetState(PipelineState::Streaming);
  ready_.store(true, std::memory_order_release);
  upstream_->PipelineStatusChanged();
}

void Pipeline::ApplyReloadBegin(const ReloadBeginStep& step) {
  // A baseline of this table starts, for observers too: the duration and rows they report at
  // OnBaselineCompleted are the reload's, not counted from the first baseline.
  observer_->OnBaselineStarted(source_id_, table_, std::nullopt);
  {
    TargetLock lock(target_mutex_);
    target_->OnBaselineBegin(table_, *step.columns);
  }
  columns_ = *step.columns;
  baseline_rows_.store(0);
  reloading_.store(true);
  // The reload this pipeline asked for (AwaitReload): once its begin is durable, a restart finds
  // the target mid-load and reads the table again, so the ACK need not be held any longer.
  if (std::exchange(awaiting_reload_, false)) {
    if (discarded_) durability_.NoteApplied(discarded_->first, discarded_->second);
    discarded_.reset();
    release_hold_when_durable_ = true;
  }
  // Never loaded (added while the engine runs; a reload begun again after a reconnect is still
  // the first load): the table's first copy, so not ready until it is whole.
  if (first_load_ || Status().state == PipelineState::Pending) {
    first_load_ = true;
    SetState(PipelineState::Baseline);
  }
  Logger()->info("pipeline {}: {} its table while the stream flows", id_,
                 first_load_ ? "loading" : "reloading");
  upstream_->PipelineStatusChanged();
}

void Pipeline::ApplyReloadEnd() {
  {
    TargetLock lock(target_mutex_);
    target_->OnBaselineComplete(table_);
  }
  reloading_.store(false);
  if (first_load_) {
    first_load_ = false;
    ClearRetryError();
    SetState(PipelineState::Streaming);
    ready_.store(true, std::memory_order_release);
  }
  observer_->OnBaselineCompleted(id_, table_, baseline_rows_.load());
  upstream_->PipelineStatusChanged();
}

void Pipeline::ApplyReloadCheckpoint(const ReloadCheckpointStep& step) {
  if (!reloading_.load()) return;  // a checkpoint of a reload this pipeline did not take part in
  TargetLock lock(target_mutex_);
  target_->OnReloadCheckpoint(table_, step.checkpoint);
}

void Pipeline::ApplySchemaChange(const SchemaChangeStep& step) {
  if (awaiting_rebaseline_) return;  // the baseline brings the new columns
  // Sources repeat a table's columns when a stream (re)starts (pgoutput's Relation messages); the
  // target hears only of real changes.
  if (*step.columns == columns_) return;
  SchemaChangeResponse response;
  {
    TargetLock lock(target_mutex_);
    response = target_->OnSchemaChange(table_, columns_, *step.columns);
  }
  observer_->OnSchemaChange(id_, table_, response);
  switch (response.action) {
    case SchemaChangeResponse::Action::Continue:
      columns_ = *step.columns;
      return;
    case SchemaChangeResponse::Action::ReBaseline:
      AwaitRebaseline("schema change of " + table_.ToString() + ": " + response.message);
      return;
    case SchemaChangeResponse::Action::Error:
      throw FatalError(
          codes::kSchemaChangeRejected,
          "target rejected the schema change of " + table_.ToString() + ": " + response.message);
  }
}

void Pipeline::AwaitReload(const std::string& reason) {
  // During a reload of its own the copy being built lacks the row too: a baseline reads it.
  if (!reloading_.load() && upstream_->RequestReload(table_, reason)) {
    Logger()->warn("pipeline {}: its table is reloaded: {}", id_, reason);
    awaiting_reload_ = true;
    release_hold_when_durable_ = false;
    durability_.HoldForRebaseline(true);
    return;
  }
  AwaitRebaseline(reason);
}

void Pipeline::AwaitRebaseline(const std::string& reason) {
  Logger()->warn("pipeline {}: re-baseline needed: {}", id_, reason);
  awaiting_rebaseline_ = true;
  release_hold_when_durable_ = false;  // a baseline begun earlier does not answer this request
  durability_.HoldForRebaseline(true);
  ready_.store(false, std::memory_order_release);
  upstream_->RequestRebaseline(reason, generation_);
}

}  // namespace laredo::engine
