#include "engine/snapshotter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

#include "engine/snapshot_jobs.hpp"
#include "engine/source_runner.hpp"
#include "laredo/backoff.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

Snapshotter::Snapshotter(SnapshotOptions options, std::shared_ptr<EngineObserver> observer,
                         std::vector<SourceRunner*> runners)
    : options_(std::move(options)), observer_(std::move(observer)), runners_(std::move(runners)) {}

std::shared_ptr<const snapshot::SnapshotReader> Snapshotter::Newest() {
  std::lock_guard lk(newest_mu_);
  if (!newest_read_) {
    newest_ = options_.store->OpenNewest();  // a failure is not remembered: the next caller tries
    newest_read_ = true;
  }
  return newest_;
}

snapshot::SnapshotMetadata Snapshotter::Take(
    std::string_view why, const std::stop_token& stop,
    std::optional<std::chrono::steady_clock::time_point> deadline_override) {
  std::lock_guard take(take_mu_);
  // Who takes part, and whether all of them can.
  std::map<std::string, Pipeline*> taking_part;
  std::vector<std::string> blockers;
  for (SourceRunner* r : runners_) {
    for (Pipeline* p : r->SnapshotPipelines()) {
      taking_part[p->id()] = p;
      if (auto blocker = p->SnapshotBlocker(); !blocker.empty()) {
        blockers.push_back(fmt::format("pipeline {}: {}", p->id(), blocker));
      }
    }
  }
  if (taking_part.empty()) {
    throw Error(codes::kSnapshotNotReady,
                "no pipeline takes part in snapshots: none has a target implementing "
                "snapshot::SnapshotCapable");
  }
  if (!blockers.empty()) {
    throw Error(codes::kSnapshotNotReady,
                fmt::format("cannot take a snapshot now: {}", fmt::join(blockers, "; ")));
  }

  const auto started = std::chrono::steady_clock::now();
  const auto deadline = deadline_override.value_or(started + options_.timeout);
  std::vector<std::string> ids;
  ids.reserve(taking_part.size());
  for (const auto& [id, p] : taking_part) ids.push_back(id);
  auto job = std::make_shared<SnapshotJob>(options_.store->Begin(), std::move(ids));
  const std::string snapshot_id = job->writer().id();
  observer_->OnSnapshotStarted(snapshot_id);
  Logger()->info("snapshot {} ({}) started", snapshot_id, why);
  const auto fail = [&](const std::string& reason) {
    job->Cancel();  // pipelines not there yet skip the export; the last holder abandons it
    Logger()->warn("snapshot {} failed: {}", snapshot_id, reason);
    observer_->OnSnapshotFailed(snapshot_id, reason);
    return Error(codes::kSnapshotFailed,
                 fmt::format("snapshot {} failed: {}", snapshot_id, reason));
  };

  std::vector<std::pair<SourceRunner*, AckPoint>> barriers;
  for (SourceRunner* r : runners_) {
    const auto pipelines = r->SnapshotPipelines();
    if (pipelines.empty()) continue;
    auto point = r->InjectBarrier(SnapshotStep{.job = job}, pipelines);
    if (!point || !point->position.has_value()) {
      throw fail(
          fmt::format("source {} has no position to take it at (a baseline began, a table "
                      "is being reloaded, or its last dispatch was cut short)",
                      r->id()));
    }
    job->writer().AddSource(r->id(), r->PrintPosition(point->position));
    barriers.emplace_back(r, std::move(*point));
  }
  const auto gone = [&](const std::string& id) -> std::optional<std::string> {
    const Pipeline* p = taking_part.at(id);
    if (p->Failed()) return "it failed";
    const auto state = p->Status().state;
    if (state == PipelineState::Stopped) return "it stopped";
    if (state == PipelineState::Paused) return "its source was paused";
    return std::nullopt;
  };
  if (!job->reports.Wait(deadline, stop, gone)) throw fail(job->reports.failures());

  snapshot::SnapshotMetadata metadata;
  try {
    metadata = job->writer().Commit();
  } catch (const std::exception& e) {
    throw fail(std::string("commit failed: ") + e.what());
  }
  // From here on a restart restores this snapshot: the ACK may pass the old caps.
  for (auto& [runner, point] : barriers) {
    for (Pipeline* p : runner->SnapshotPipelines()) p->SnapshotCommitted(point);
  }
  try {
    options_.store->Prune(options_.keep);
  } catch (const std::exception& e) {
    Logger()->warn("snapshot {}: pruning older snapshots failed: {}", snapshot_id, e.what());
  }
  const auto duration = std::chrono::steady_clock::now() - started;
  observer_->OnSnapshotCompleted(SnapshotReport{.snapshot_id = snapshot_id,
                                                .rows = metadata.TotalRows(),
                                                .bytes = metadata.TotalBytes(),
                                                .duration = duration});
  Logger()->info("snapshot {} committed: {} tables, {} rows, {} bytes in {} ms", snapshot_id,
                 metadata.tables.size(), metadata.TotalRows(), metadata.TotalBytes(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
  return metadata;
}

void Snapshotter::StartSchedule() {
  if (options_.interval <= std::chrono::milliseconds::zero()) return;
  schedule_ = std::jthread([this](const std::stop_token& stop) { RunSchedule(stop); });
}

void Snapshotter::StopSchedule() {
  schedule_.request_stop();
  if (schedule_.joinable()) schedule_.join();
}

void Snapshotter::RunSchedule(const std::stop_token& stop) {
  while (SleepFor(stop, options_.interval)) {
    try {
      Take("scheduled", stop);
    } catch (const Error& e) {
      // Not ready (a baseline runs): the next interval tries again; failures were reported.
      if (std::string_view(e.code()) == codes::kSnapshotNotReady) {
        Logger()->info("scheduled snapshot skipped: {}", e.what());
      }
    } catch (const std::exception& e) {
      Logger()->warn("scheduled snapshot failed: {}", e.what());
    }
  }
}

}  // namespace laredo::engine
