#include "engine/durability.hpp"

namespace laredo::engine {

void DurabilityTracker::NoteApplied(std::uint64_t seq, const Position& position) {
  std::lock_guard lk(mu_);
  if (!pending_.empty() && pending_.back().seq >= seq) return;
  pending_.push_back(AckPoint{.seq = seq, .position = position});
  if (seq > applied_seq_.load(std::memory_order_relaxed)) {
    applied_seq_.store(seq, std::memory_order_release);
  }
}

void DurabilityTracker::ConfirmAll() {
  std::lock_guard lk(mu_);
  if (pending_.empty()) return;
  confirmed_ = std::move(pending_.back());
  pending_.clear();
}

void DurabilityTracker::Durable(std::uint64_t ticket) {
  std::lock_guard lk(mu_);
  // Entries are per applied batch: a ticket inside a batch confirms the batches before it.
  while (!pending_.empty() && pending_.front().seq <= ticket) {
    confirmed_ = std::move(pending_.front());
    pending_.pop_front();
  }
}

bool DurabilityTracker::HasPending() const {
  std::lock_guard lk(mu_);
  return !pending_.empty();
}

void DurabilityTracker::HoldForRebaseline(bool hold) {
  std::lock_guard lk(mu_);
  held_ = hold;
}

void DurabilityTracker::LimitToSnapshots() {
  std::lock_guard lk(mu_);
  limited_ = true;
  cap_ = AckPoint{};
}

void DurabilityTracker::LimitToSnapshotsFromTheFirst() {
  std::lock_guard lk(mu_);
  limited_ = true;
  cap_.reset();
}

void DurabilityTracker::RaiseCap(const AckPoint& point) {
  std::lock_guard lk(mu_);
  if (limited_ && (!cap_ || point.seq >= cap_->seq)) cap_ = point;
}

AckPoint DurabilityTracker::Watermark(const AckPoint& published,
                                      std::uint64_t last_queued_seq) const {
  std::lock_guard lk(mu_);
  const AckPoint& mark =
      held_ || (last_queued_seq > confirmed_.seq && published.seq >= confirmed_.seq) ? confirmed_
                                                                                     : published;
  // At the same number the cap's position is the later one (a snapshot taken at a progress report).
  return cap_ && cap_->seq <= mark.seq ? *cap_ : mark;
}

}  // namespace laredo::engine
