#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "engine/ack_tracker.hpp"
#include "laredo/sync_target.hpp"

namespace laredo::engine {

/// What one pipeline has made durable, and so where it lets its source's ACK stand.
///
/// The worker notes each applied batch's newest positioned item (`NoteApplied`); they become
/// durable when the target says so, polled (`ConfirmAll` after `IsDurable()` returned true) or
/// reported (`Durable(ticket)`, from any thread). Items that were queued but not applied (a halted
/// pipeline's discarded buffer, changes discarded while waiting for a re-baseline) are never
/// confirmed, so the ACK cannot pass them.
///
/// Threading: `NoteApplied`, `ConfirmAll`, `HasPending` on the worker; `Durable`, `Watermark` and
/// `HoldForRebaseline` from any thread.
class DurabilityTracker final : public DurabilityReporter {
 public:
  void NoteApplied(std::uint64_t seq, const Position& position);
  /// The position of the newest item applied, durable or not (empty before any). Any thread.
  [[nodiscard]] Position LastAppliedPosition() const {
    std::lock_guard lk(mu_);
    return pending_.empty() ? confirmed_.position : pending_.back().position;
  }
  /// The newest item applied (or given up on by the error policy), durable or not. Any thread.
  [[nodiscard]] std::uint64_t AppliedSeq() const {
    return applied_seq_.load(std::memory_order_acquire);
  }
  /// Everything applied so far is durable.
  void ConfirmAll();
  void Durable(std::uint64_t ticket) override;
  /// Applied items wait to become durable.
  [[nodiscard]] bool HasPending() const;

  /// Waiting for a re-baseline holds the ACK at the newest durable point, even with nothing
  /// queued: the request (a schema change, an unfillable row) has no position of its own, and a
  /// restart must see it again.
  void HoldForRebaseline(bool hold);

  /// The target is durable only through snapshots (docs/snapshots.md): from now on the watermark
  /// never passes the cap, which starts empty (nothing is acknowledged) and is raised by
  /// `RaiseCap`.
  void LimitToSnapshots();
  /// Like `LimitToSnapshots` for a pipeline added while the engine runs: no cap until its first
  /// snapshot. Until a snapshot holds it, a restart cannot restore its source from a snapshot at
  /// all (the restore needs every pipeline) and baselines instead, which needs no history.
  void LimitToSnapshotsFromTheFirst();
  /// A point a restart can rebuild this target at without the source's history before it: a
  /// committed snapshot's barrier, a completed baseline, the snapshot a restore started from.
  /// Only raises (by dispatch number).
  void RaiseCap(const AckPoint& point);

  /// `published` (the newest item that reached every pipeline) when everything this pipeline was
  /// given up to `last_queued_seq` is durable, else the newest point it made durable (conservative:
  /// other pipelines' items between that point and its oldest unconfirmed one are not counted).
  [[nodiscard]] AckPoint Watermark(const AckPoint& published, std::uint64_t last_queued_seq) const;

 private:
  mutable std::mutex mu_;
  /// Applied, not yet durable: one entry per applied batch, oldest first.
  std::deque<AckPoint> pending_;
  /// The newest item made durable.
  AckPoint confirmed_;
  bool held_ = false;
  std::optional<AckPoint> cap_;  // set under LimitToSnapshots
  bool limited_ = false;         // cap_ applies once set
  std::atomic<std::uint64_t> applied_seq_{0};
};

}  // namespace laredo::engine
