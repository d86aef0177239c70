// A pipeline's part in snapshots (docs/snapshots.md): the barrier, at which the worker exports the
// target, and the restore at start. Both run on the worker, the target's only writer, so an export
// sees every change queued before the barrier and none after it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/pipeline.hpp"
#include "engine/target_lock.hpp"
#include "laredo/logging.hpp"
#include "laredo/snapshot/snapshot_capable.hpp"

namespace laredo::engine {

std::string Pipeline::SnapshotBlocker() const {
  if (!snapshot_durable_) return "its target does not take part in snapshots";
  const auto status = Status();
  if (status.state == PipelineState::Error || status.state == PipelineState::Stopped) {
    return fmt::format("it is {}", ToString(status.state));
  }
  if (queue_.Paused()) return "its source is paused";
  if (!Ready()) return fmt::format("it is not ready ({})", ToString(status.state));
  if (status.reloading) return "it is reloading its table";
  return {};
}

void Pipeline::ApplySnapshot(const SnapshotStep& step) {
  SnapshotJob& job = *step.job;
  if (job.Cancelled()) return;
  auto* capable = dynamic_cast<snapshot::SnapshotCapable*>(target_.get());
  if (capable == nullptr) {
    job.reports.Failed(id_, "its target does not implement snapshot::SnapshotCapable");
    return;
  }
  if (reloading_.load()) {
    // Half of the new contents is built aside: neither copy holds the changes up to the barrier.
    job.reports.Failed(id_, "it is reloading its table");
    return;
  }
  if (Discarding() || !Ready()) {
    // Its contents are about to be replaced: a snapshot of them would restore a stale table.
    job.reports.Failed(id_, awaiting_reload_ ? "it waits for a reload of its table"
                                             : "it waits for a re-baseline");
    return;
  }
  try {
    TargetLock lock(target_mutex_);
    auto file = job.writer().BeginTable(table_, capable->ExportColumns(table_), id_);
    capable->Export(table_, *file);
    file->Finish();
  } catch (const std::exception& e) {
    Logger()->warn("pipeline {}: snapshot export failed: {}", id_, e.what());
    job.reports.Failed(id_, std::string("export failed: ") + e.what());
    return;
  }
  job.reports.Done(id_, 0, 0);  // the figures are the committed metadata's
}

void Pipeline::ApplyRestore(const RestoreStep& step) {
  RestoreJob& job = *step.job;
  auto* capable = dynamic_cast<snapshot::SnapshotCapable*>(target_.get());
  const snapshot::TableEntry* entry = job.snapshot->metadata().FindPipeline(id_);
  if (capable == nullptr || entry == nullptr) {  // checked by the source runner already
    job.reports.Failed(id_, "nothing to restore it from");
    return;
  }
  try {
    auto rows = job.snapshot->OpenEntry(*entry);
    TargetLock lock(target_mutex_);
    capable->Restore(table_, rows->columns(), *rows);
    columns_ = rows->columns();
  } catch (const std::exception& e) {
    // Restore is all or nothing: the target holds what it had; the source baselines instead.
    job.reports.Failed(id_, std::string("restore failed: ") + e.what());
    return;
  }
  baseline_rows_.store(entry->row_count);
  job.reports.Done(id_, entry->row_count, entry->bytes);
}

}  // namespace laredo::engine
