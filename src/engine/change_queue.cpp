#include "engine/change_queue.hpp"

#include <thread>

namespace laredo::engine {
namespace {

// About 20 us of polling: long enough to catch the next batch of a busy source without a futex
// round trip, short enough not to matter when the source is idle.
constexpr int kSpinsBeforeSleep = 500;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

ChangeQueue::ChangeQueue(std::size_t capacity, BufferPolicy policy,
                         std::function<void(const ChangeEvent&)> on_dropped)
    : capacity_(capacity), policy_(policy), on_dropped_(std::move(on_dropped)) {}

void ChangeQueue::NoteSeqLocked(const Item& item) {
  if (const auto seq = LastSeq(item); seq != 0) {
    last_queued_seq_.store(seq, std::memory_order_release);
  }
}

ChangeQueue::PushResult ChangeQueue::Push(Item&& item, const std::stop_token& stop,
                                          const BackpressureHook* while_blocked) {
  const std::size_t weight = Weight(item);
  const bool is_change = std::holds_alternative<ChangeRun>(item);
  std::unique_lock lk(mu_);
  // An item heavier than the whole buffer is let in alone, so it cannot wait forever (the
  // dispatcher never makes one).
  const auto has_room = [&] { return depth_ == 0 || depth_ + weight <= capacity_; };
  while (!halted_ && !has_room()) {
    // A paused pipeline holds everything; the policies only apply while it runs.
    if (is_change && !paused_ && policy_ == BufferPolicy::DropOldest) {
      if (DropOldestLocked(lk)) continue;
    } else if (is_change && !paused_ && policy_ == BufferPolicy::Error) {
      return PushResult::Rejected;
    }
    const auto can_go = [&] { return has_room() || halted_; };
    producer_waiting_ = true;
    if (while_blocked != nullptr && while_blocked->hook) {
      while (!not_full_.wait_for(lk, stop, while_blocked->interval, can_go)) {
        if (stop.stop_requested()) return PushResult::Stopped;
        lk.unlock();
        while_blocked->hook();  // may throw: leaves with the item not queued
        lk.lock();
        producer_waiting_ = true;
      }
    } else if (!not_full_.wait(lk, stop, can_go)) {
      return PushResult::Stopped;
    }
    producer_waiting_ = false;
  }
  NoteSeqLocked(item);
  if (halted_) return PushResult::Discarded;  // remembered above: the ACK must not pass it
  depth_ += weight;
  items_.push_back(std::move(item));
  pushes_.fetch_add(1, std::memory_order_release);
  // Waking an idle worker costs a futex call; a busy one finds the item on its next pass.
  const bool wake = worker_waiting_;
  lk.unlock();
  if (wake) not_empty_.notify_one();
  return PushResult::Queued;
}

bool ChangeQueue::DropOldestLocked(std::unique_lock<std::mutex>& lk) {
  for (std::size_t i = 0; i < items_.size(); ++i) {
    auto* run = std::get_if<ChangeRun>(&items_.at(i));
    if (run == nullptr) continue;
    auto batch = run->batch.Clone();  // keeps the event alive while it is reported
    std::uint32_t k = run->begin;
    while (batch->routes[k] != run->route) ++k;
    run->begin = k + 1;
    --depth_;
    if (--run->count == 0) items_.erase_at(i);
    lk.unlock();
    on_dropped_(batch->items[k]);
    batch.Reset();
    lk.lock();
    return true;
  }
  return false;
}

ChangeQueue::TakeResult ChangeQueue::Take(std::vector<Item>& out, const std::stop_token& stop,
                                          std::optional<std::chrono::milliseconds> poll,
                                          bool spin) {
  std::unique_lock lk(mu_);
  bool spun = !spin;
  for (;;) {
    if (halted_ || stop.stop_requested()) return TakeResult::Exit;
    const bool can_apply = !paused_ && !items_.empty();
    if (draining_ && (!can_apply || DrainExpired())) return TakeResult::Exit;
    if (can_apply) break;
    if (!spun && !paused_ && !draining_) {
      spun = true;
      const auto seen = pushes_.load(std::memory_order_acquire);
      lk.unlock();
      for (int i = 0; i < kSpinsBeforeSleep && pushes_.load(std::memory_order_acquire) == seen;
           ++i) {
        CpuRelax();
      }
      lk.lock();
      continue;
    }
    worker_waiting_ = true;
    const auto wake = [&] { return halted_ || draining_ || (!paused_ && !items_.empty()); };
    if (poll) {
      const bool woken = not_empty_.wait_for(lk, stop, *poll, wake);
      worker_waiting_ = false;
      if (!woken) return TakeResult::Timeout;
    } else {
      not_empty_.wait(lk, stop, wake);
      worker_waiting_ = false;
    }
  }
  const bool wake_producer = producer_waiting_;
  items_.drain_into(out);
  depth_ = 0;
  lk.unlock();
  if (wake_producer) not_full_.notify_all();
  return TakeResult::Items;
}

bool ChangeQueue::WaitHalted(const std::stop_token& stop, std::chrono::milliseconds delay) {
  std::unique_lock lk(mu_);
  not_empty_.wait_for(lk, stop, delay, [&] { return halted_; });
  return halted_ || stop.stop_requested();
}

bool ChangeQueue::Halt() {
  {
    std::lock_guard lk(mu_);
    if (halted_) return false;
    halted_ = true;
    items_.clear();
    depth_ = 0;
  }
  WakeAll();
  return true;
}

void ChangeQueue::SetPaused(bool paused) {
  {
    std::lock_guard lk(mu_);
    paused_ = paused;
  }
  WakeAll();
}

void ChangeQueue::BeginDrain(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lk(mu_);
    draining_ = true;
    drain_deadline_.store(deadline.time_since_epoch().count(), std::memory_order_release);
  }
  not_empty_.notify_all();
}

bool ChangeQueue::DrainExpired() const {
  const auto deadline = drain_deadline_.load(std::memory_order_acquire);
  return deadline != 0 && std::chrono::steady_clock::now().time_since_epoch().count() >= deadline;
}

void ChangeQueue::WakeAll() {
  not_empty_.notify_all();
  not_full_.notify_all();
}

std::size_t ChangeQueue::Depth() const {
  std::lock_guard lk(mu_);
  return depth_;
}

bool ChangeQueue::Paused() const {
  std::lock_guard lk(mu_);
  return paused_;
}

}  // namespace laredo::engine
