#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <stop_token>
#include <utility>

// Shared by the sources (header-only, not installed): the bounded hand-off of baseline row
// batches from reader threads to the thread that delivers them.
namespace laredo::shared {

/// A bounded FIFO from producer threads to one consumer, with a producer count and the first
/// producer failure. Bounded so a fast reader cannot run ahead of a slow target by more than
/// `capacity` items (backpressure reaches the network); closed by the consumer when it leaves, so
/// a producer blocked on a full queue wakes and stops.
///
/// Threading contract: `Push`, `ProducerDone` from producer threads; `Pop`, `Close`, `error` from
/// the consumer; all of them may run at the same time.
template <typename T>
class HandoffQueue {
 public:
  explicit HandoffQueue(std::size_t capacity) : capacity_(capacity) {}

  /// Blocks while full; false when the queue was closed (the producer should stop).
  bool Push(T item) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return closed_ || queue_.size() < capacity_; });
    if (closed_) return false;
    queue_.push_back(std::move(item));
    cv_.notify_all();
    return true;
  }

  /// The next item; false when every producer finished and nothing is left, when a producer
  /// failed (see `error`), when the queue was closed, or when `stop` was requested.
  bool Pop(T& out, std::stop_token stop) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, stop, [&] { return closed_ || !queue_.empty() || producers_ == 0; });
    if (closed_ || queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return true;
  }

  void AddProducer() {
    const std::lock_guard lock(mutex_);
    ++producers_;
  }

  /// A producer finished; `error` (if any) ends the hand-off: the first one is kept, and what is
  /// still queued is discarded, because the consumer is going to fail with it.
  void ProducerDone(std::exception_ptr error) {
    const std::lock_guard lock(mutex_);
    --producers_;
    if (error && !error_) {
      error_ = std::move(error);
      closed_ = true;
    }
    cv_.notify_all();
  }

  /// The consumer leaves: blocked and later pushes return false.
  void Close() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    cv_.notify_all();
  }

  [[nodiscard]] std::exception_ptr error() {
    const std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::deque<T> queue_;
  int producers_ = 0;
  bool closed_ = false;
  std::exception_ptr error_;
};

}  // namespace laredo::shared
