#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "laredo/engine.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/snapshot/store.hpp"

namespace laredo::engine {

class SourceRunner;

/// The engine's snapshots (docs/snapshots.md): taking one (on demand, on the schedule, at
/// shutdown) and reading the newest for the restore at start.
///
/// Taking one: every pipeline that takes part must be ready; each source gets a barrier queued
/// behind what it dispatched so far (`SourceRunner::InjectBarrier`), each pipeline exports its
/// target when its worker reaches the barrier, and once all did the snapshot is committed, their
/// ACK caps are raised to the barriers' points, and old snapshots are pruned.
///
/// Threading: `Take` from any thread (one at a time, others wait); the schedule on a thread of
/// its own; `Newest` from the source threads.
class Snapshotter {
 public:
  Snapshotter(SnapshotOptions options, std::shared_ptr<EngineObserver> observer,
              std::vector<SourceRunner*> runners);
  ~Snapshotter() { StopSchedule(); }
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  [[nodiscard]] const SnapshotOptions& options() const { return options_; }

  /// The newest committed snapshot, listed once and shared by every source (null when the store
  /// holds none). Throws what the store throws.
  std::shared_ptr<const snapshot::SnapshotReader> Newest();

  /// Takes a snapshot; see `Engine::CreateSnapshot`. `stop` abandons it, as does `deadline`
  /// (default: `options().timeout` from now).
  snapshot::SnapshotMetadata Take(
      std::string_view why, const std::stop_token& stop,
      std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

  /// Starts the schedule (when `options().interval` is positive).
  void StartSchedule();
  void StopSchedule();

 private:
  void RunSchedule(const std::stop_token& stop);

  const SnapshotOptions options_;
  const std::shared_ptr<EngineObserver> observer_;
  const std::vector<SourceRunner*> runners_;

  std::mutex take_mu_;  // one snapshot at a time

  std::mutex newest_mu_;
  bool newest_read_ = false;
  std::shared_ptr<const snapshot::SnapshotReader> newest_;

  std::jthread schedule_;
};

}  // namespace laredo::engine
