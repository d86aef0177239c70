#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kinesis_client.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "publisher_state.hpp"
#include "put_sender.hpp"
#include "snapshot_writer.hpp"

// The publisher's snapshots: its replica state, the admission of changes, and the aligned
// snapshot (quiesce, copy, barriers, upload, prune), periodic and on demand. Private.
namespace laredo::kinesis::publish {

/// Thread-safe. Every change is admitted through `Admit`, which queues its records and updates the
/// state under one lock; a snapshot holds that lock from waiting for the records in flight until
/// its barriers are written, so the copied state and the barriers describe the same point of every
/// shard (docs/kinesis-data-contract.md, "Snapshots and the stream").
class Snapshotter {
 public:
  /// `options` validated; `sender` outlives this. Starts the periodic thread when snapshots are on.
  Snapshotter(const PublisherOptions& options, PutSender& sender);
  /// Stops the periodic thread; an upload under way stops before its manifest.
  ~Snapshotter();
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  [[nodiscard]] bool Enabled() const noexcept { return enabled_; }

  /// Runs `queue` (encodes and queues the change's records; may throw, then nothing changes) and
  /// then applies `change` to the state, with admission held.
  template <typename Queue>
  void Admit(const TableIdentifier& table, const TargetChange& change, Queue&& queue) {
    std::unique_lock lk(admit_mu_);
    // A snapshot waiting for the lock gets it before the next change (the mutex is not fair).
    admitted_cv_.wait(lk, [&] { return !closing_.load(std::memory_order_relaxed); });
    queue();
    if (!enabled_) return;
    const bool applied = state_.Apply(table, change);
    anomalies_.store(state_.Anomalies(), std::memory_order_relaxed);
    if (applied || restore_requested_ || !options_.snapshots.restore) return;
    // A resumed pipeline: restore the state (and snapshot) now rather than at the next interval.
    restore_requested_ = true;
    lk.unlock();
    RequestSnapshot();
  }

  void SetColumns(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns);
  void BeginBaseline(const TableIdentifier& table);
  void BaselineRow(const TableIdentifier& table, const Row& row);
  /// Triggers a snapshot once no table is incomplete.
  void CompleteBaseline(const TableIdentifier& table);

  /// Wakes the snapshot thread for an attempt now.
  void RequestSnapshot();
  /// One snapshot now; throws its failure.
  SnapshotReport TakeNow();
  /// Adds the snapshot counters to `stats`.
  void AddStats(Publisher::Stats& stats) const;

 private:
  void Run(const std::stop_token& stop);
  /// One attempt, reported; `failure` receives its exception.
  SnapshotReport Take(const std::stop_token& stop, std::exception_ptr& failure);
  /// Quiesce, copy, barriers: with admission held.
  void Align(const std::stop_token& stop, StateCopy& copy, SnapshotReport& report);

  const PublisherOptions& options_;
  PutSender& sender_;
  const bool enabled_;
  std::unique_ptr<aws::KinesisClient> kinesis_;  // barriers
  SnapshotBucket location_;

  std::mutex admit_mu_;
  std::atomic<bool> closing_{false};     // a snapshot wants admission closed
  std::condition_variable admitted_cv_;  // closing_ cleared
  ReplicaState state_;                   // guarded by admit_mu_
  // Baselines completed so far, and how many the newest snapshot reflected: a trigger after a
  // baseline that a snapshot already holds is not taken twice. Guarded by admit_mu_.
  std::uint64_t baselines_completed_ = 0;
  std::uint64_t baselines_snapshotted_ = 0;
  std::atomic<std::uint64_t> anomalies_{0};
  bool restore_requested_ = false;  // guarded by admit_mu_

  std::mutex take_mu_;  // one snapshot at a time
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  bool triggered_ = false;       // by a baseline; guarded by mu_
  bool requested_ = false;       // by RequestSnapshot; guarded by mu_
  Publisher::Stats counters_{};  // snapshot fields only; guarded by mu_
  std::jthread thread_;          // last: stopped and joined first
};

}  // namespace laredo::kinesis::publish
