#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <vector>

#include "engine/item.hpp"
#include "engine/ring_buffer.hpp"
#include "laredo/pipeline_options.hpp"

namespace laredo::engine {

/// A source's `ChangeHandler::SetBackpressureHook`.
struct BackpressureHook {
  std::function<void()> hook;
  std::chrono::milliseconds interval{100};
};

/// A pipeline's bounded buffer: items in source order, at most `capacity` rows and changes (see
/// `Weight`), with the full-buffer policies, pausing, draining and halting.
///
/// Threading: `Push` from the source thread; `Take`, `WaitHalted` from the worker; the rest from
/// any thread.
class ChangeQueue {
 public:
  /// `on_dropped` reports a change the DropOldest policy discarded (called without the lock).
  ChangeQueue(std::size_t capacity, BufferPolicy policy,
              std::function<void(const ChangeEvent&)> on_dropped);

  enum class PushResult {
    Queued,
    Discarded,  ///< the queue is halted; the item was dropped (its number still counts as queued)
    Stopped,    ///< `stop` was triggered while waiting for room
    Rejected,   ///< full under BufferPolicy::Error; the item was not queued
  };
  /// Queues `item`, waiting for room while full (always for control steps and baseline rows; for
  /// changes under BufferPolicy::Block or while paused). `while_blocked`, when set, runs every
  /// `interval` while waiting, without the lock; its exceptions leave the call, item not queued.
  /// `item` is moved from only when queued (Queued); after any other result it is intact.
  PushResult Push(Item&& item, const std::stop_token& stop, const BackpressureHook* while_blocked);

  enum class TakeResult { Items, Timeout, Exit };
  /// Waits until there is something to apply and moves every queued item to `out`. Returns
  /// Timeout after `poll` (when set) with nothing taken, Exit when the worker must end (halted,
  /// `stop`, or draining with nothing left or past the deadline). With `spin`, it polls for a new
  /// item briefly before sleeping.
  TakeResult Take(std::vector<Item>& out, const std::stop_token& stop,
                  std::optional<std::chrono::milliseconds> poll, bool spin);
  /// Waits `delay`; true when the queue was halted or `stop` triggered meanwhile.
  bool WaitHalted(const std::stop_token& stop, std::chrono::milliseconds delay);

  /// Drops everything queued; from now on pushes are discarded. False when already halted.
  bool Halt();
  void SetPaused(bool paused);
  void BeginDrain(std::chrono::steady_clock::time_point deadline);
  /// The drain deadline passed (worker, per item).
  [[nodiscard]] bool DrainExpired() const;
  /// Wakes every waiter (hard stop).
  void WakeAll();

  [[nodiscard]] std::size_t Depth() const;
  [[nodiscard]] bool Paused() const;
  /// The newest dispatch number pushed (queued or discarded); see `LastSeq`.
  [[nodiscard]] std::uint64_t LastQueuedSeq() const {
    return last_queued_seq_.load(std::memory_order_acquire);
  }

 private:
  /// Makes room under DropOldest by dropping the oldest change; false when none is queued.
  bool DropOldestLocked(std::unique_lock<std::mutex>& lk);
  void NoteSeqLocked(const Item& item);

  const std::size_t capacity_;
  const BufferPolicy policy_;
  const std::function<void(const ChangeEvent&)> on_dropped_;

  mutable std::mutex mu_;
  std::condition_variable_any not_empty_;
  std::condition_variable_any not_full_;
  RingBuffer<Item> items_;
  std::size_t depth_ = 0;  // sum of Weight over items_
  bool paused_ = false;
  bool draining_ = false;
  bool halted_ = false;
  bool worker_waiting_ = false;
  bool producer_waiting_ = false;  // a Push waits for room
  std::atomic<std::uint64_t> last_queued_seq_{0};
  /// Bumped by every push: the worker spins on it briefly before sleeping.
  std::atomic<std::uint64_t> pushes_{0};
  /// steady_clock ticks of the drain deadline; 0 while not draining.
  std::atomic<std::int64_t> drain_deadline_{0};
};

}  // namespace laredo::engine
