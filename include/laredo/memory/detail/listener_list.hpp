#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace laredo::memory::detail {

/// The listeners of an in-memory target, copied on write: `Call` runs on the pipeline thread on a
/// snapshot while other threads may add or remove listeners. Thread-safe.
template <typename Listener>
class ListenerList {
 public:
  void Add(std::uint64_t id, Listener listener) {
    std::lock_guard lk(mu_);
    auto next = std::make_shared<Entries>(*entries_);
    next->emplace_back(id, std::move(listener));
    entries_ = std::move(next);
    any_.store(true, std::memory_order_release);
  }
  /// False when `id` is not here.
  bool Remove(std::uint64_t id) {
    std::lock_guard lk(mu_);
    auto next = std::make_shared<Entries>(*entries_);
    const auto removed = std::erase_if(*next, [&](const auto& entry) { return entry.first == id; });
    any_.store(!next->empty(), std::memory_order_release);
    entries_ = std::move(next);
    return removed != 0;
  }
  /// Cheap enough to ask per change: writers skip building events nobody hears.
  [[nodiscard]] bool Any() const { return any_.load(std::memory_order_acquire); }
  template <typename... Args>
  void Call(const Args&... args) const {
    std::shared_ptr<const Entries> current;
    {
      std::lock_guard lk(mu_);
      current = entries_;
    }
    for (const auto& [id, listener] : *current) listener(args...);
  }

 private:
  using Entries = std::vector<std::pair<std::uint64_t, Listener>>;
  mutable std::mutex mu_;
  std::shared_ptr<const Entries> entries_ = std::make_shared<const Entries>();
  std::atomic<bool> any_{false};
};

}  // namespace laredo::memory::detail
