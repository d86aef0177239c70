// A source runner's restore at start (docs/snapshots.md): when every pipeline of the source can be
// restored from the newest snapshot and the source can stream from the snapshot's position, the
// targets load their files and the stream continues from there, with no baseline. Otherwise the
// reason is reported and the source baselines.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/source_runner.hpp"
#include "laredo/logging.hpp"
#include "laredo/snapshot/snapshot_capable.hpp"

namespace laredo::engine {
namespace {

// "columns differ: email (text -> varchar), + age, - name", for the reason of a fallback.
std::string ColumnDifference(const std::vector<ColumnDefinition>& saved,
                             const std::vector<ColumnDefinition>& now) {
  std::vector<std::string> parts;
  for (const auto& c : saved) {
    const auto it =
        std::find_if(now.begin(), now.end(), [&](const auto& n) { return n.name == c.name; });
    if (it == now.end()) {
      parts.push_back("- " + c.name);
    } else if (!(*it == c)) {
      parts.push_back(fmt::format("{} ({} -> {})", c.name, c.type, it->type));
    }
  }
  for (const auto& n : now) {
    const auto it =
        std::find_if(saved.begin(), saved.end(), [&](const auto& c) { return c.name == n.name; });
    if (it == saved.end()) parts.push_back("+ " + n.name);
  }
  if (parts.empty()) parts.emplace_back("column order");
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

std::string SourceRunner::CheckRestore(const snapshot::SnapshotMetadata& snapshot,
                                       Position& position, Position& acked) {
  const snapshot::SourceEntry* saved = snapshot.FindSource(id_);
  if (saved == nullptr) return "it holds no position for this source";
  for (Pipeline* p : pipelines_) {
    if (!p->snapshot_durable()) {
      return fmt::format(
          "pipeline {} has a target that does not take part in snapshots (it "
          "needs a baseline, and a baseline is for every table of a source)",
          p->id());
    }
    const snapshot::TableEntry* entry = snapshot.FindPipeline(p->id());
    if (entry == nullptr) return fmt::format("it has no file for pipeline {}", p->id());
    if (entry->table != p->table()) {
      return fmt::format("its file for pipeline {} holds {}, not {}", p->id(),
                         entry->table.ToString(), p->table().ToString());
    }
    const auto& now = dispatcher_.columns[p->table()];
    if (entry->columns != now) {
      return fmt::format("the columns of {} changed since: {}", p->table().ToString(),
                         ColumnDifference(entry->columns, now));
    }
  }
  if (!source_->SupportsResume()) return "the source cannot resume a stream from a position";
  try {
    position = source_->PositionFromString(saved->position);
  } catch (const std::exception& e) {
    return fmt::format("its position \"{}\" is not one of this source's: {}", saved->position,
                       e.what());
  }
  acked = source_->LastAckedPosition();
  if (!acked.has_value()) {
    return "the source has no saved position to stream from (e.g. its replication slot is new "
           "or was lost), so the changes after the snapshot are gone";
  }
  if (source_->ComparePositions(acked, position) > 0) {
    return fmt::format(
        "the source was acknowledged at {}, past the snapshot's {}: the changes "
        "between them are gone",
        source_->PositionToString(acked), saved->position);
  }
  return {};
}

std::optional<Position> SourceRunner::TryRestore(const std::stop_token& stop) {
  if (snapshotter_ == nullptr || !snapshotter_->options().restore_at_start ||
      SnapshotPipelines().empty()) {
    return std::nullopt;
  }
  const auto started = std::chrono::steady_clock::now();
  std::string snapshot_id;
  const auto skip = [&](const std::string& reason) -> std::optional<Position> {
    Logger()->warn("source {}: not restoring{}: {}; baselining instead", id_,
                   snapshot_id.empty() ? "" : " from snapshot " + snapshot_id, reason);
    observer_->OnSnapshotRestoreSkipped(id_, snapshot_id, reason);
    return std::nullopt;
  };
  std::shared_ptr<const snapshot::SnapshotReader> snapshot;
  try {
    snapshot = snapshotter_->Newest();
  } catch (const std::exception& e) {
    return skip(std::string("reading the snapshot store failed: ") + e.what());
  }
  if (!snapshot) return skip("the store holds no snapshot yet");
  snapshot_id = snapshot->metadata().id;

  Position position;
  Position acked;
  if (auto reason = CheckRestore(snapshot->metadata(), position, acked); !reason.empty()) {
    return skip(reason);
  }
  std::vector<std::string> ids;
  for (Pipeline* p : pipelines_) ids.push_back(p->id());
  auto job = std::make_shared<RestoreJob>(snapshot, ids);
  // Each worker restores its own target: in parallel, on the thread that writes it.
  for (Pipeline* p : pipelines_) {
    if (!p->Enqueue(RestoreStep{.job = job}, stop)) return std::nullopt;
  }
  const auto gone = [&](const std::string& id) -> std::optional<std::string> {
    for (Pipeline* p : pipelines_) {
      if (p->id() == id && p->Failed()) return "it failed";
    }
    return std::nullopt;
  };
  if (!job->reports.Wait(std::chrono::steady_clock::time_point::max(), stop, gone)) {
    if (stop.stop_requested()) return std::nullopt;
    // The targets that did load are replaced by the baseline that follows; until it completes
    // none is ready, so nobody reads a mix of the two.
    return skip(job->reports.failures());
  }
  const std::string text = source_->PositionToString(position);
  // Reported before the pipelines become ready, so whoever waits for readiness sees it.
  const auto duration = std::chrono::steady_clock::now() - started;
  observer_->OnSnapshotRestored(id_, SnapshotReport{.snapshot_id = snapshot_id,
                                                    .rows = job->reports.rows(),
                                                    .bytes = job->reports.bytes(),
                                                    .duration = duration});
  acker_.StartAt(acked, source_->PositionToString(acked));
  const bool queued = dispatcher_.StartStreamAt(0, position, [&] {
    for (Pipeline* p : pipelines_) {
      p->SnapshotCommitted(AckPoint{.seq = 0, .position = position});
      if (!p->Enqueue(ResumeStep{}, stop)) return false;
    }
    return true;
  });
  if (!queued) return std::nullopt;
  Logger()->info("source {}: restored {} rows from snapshot {} in {} ms; streaming from {}", id_,
                 job->reports.rows(), snapshot_id,
                 std::chrono::duration_cast<std::chrono::milliseconds>(duration).count(), text);
  return position;
}

}  // namespace laredo::engine
