#pragma once

// An engine observer for the end-to-end benchmarks: counts applied changes, remembers the position
// of the last expected one and wakes a waiter once an ACK covers it.

#include <any>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "bench_util.hpp"
#include "laredo/laredo.hpp"
#include "laredo/memory/indexed_target.hpp"

namespace laredo::bench {

/// `P` is the source's position type; `covers(acked, last)` says whether an ACK at `acked`
/// includes the change at `last`. Thread-safe.
template <class P>
class DoneObserver final : public EngineObserver {
 public:
  using Covers = std::function<bool(const P& acked, const P& last)>;
  DoneObserver(std::uint64_t expected, Covers covers)
      : expected_(expected), covers_(std::move(covers)) {}

  void OnChangeApplied(std::string_view, const ChangeEvent& event) override {
    const std::uint64_t n = ++applied_;
    if (n == 1) first_applied_ = Clock::now();
    if (n != expected_) return;
    std::lock_guard lk(mu_);
    last_ = std::any_cast<P>(event.position);
    cv_.notify_all();
  }
  void OnAckAdvanced(std::string_view, const Position& position, std::string_view) override {
    std::lock_guard lk(mu_);
    acked_ = std::any_cast<P>(position);
    cv_.notify_all();
  }
  void OnError(std::string_view component, std::string_view message, bool will_retry) override {
    std::fprintf(stderr, "error in %.*s%s: %.*s\n", static_cast<int>(component.size()),
                 component.data(), will_retry ? " (retrying)" : "",
                 static_cast<int>(message.size()), message.data());
  }

  /// Waits up to `timeout` until the last change is applied and acknowledged; then the ACK and
  /// the last change's position, else nullopt.
  std::optional<std::pair<P, P>> AwaitDone(std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    const bool done =
        cv_.wait_for(lk, timeout, [&] { return last_ && acked_ && covers_(*acked_, *last_); });
    if (!done) return std::nullopt;
    return std::pair<P, P>{*acked_, *last_};
  }
  std::uint64_t applied() const { return applied_.load(); }
  /// When the first change was applied (read after `AwaitDone`).
  Clock::time_point first_applied() const { return first_applied_; }

 private:
  const std::uint64_t expected_;
  const Covers covers_;
  std::atomic<std::uint64_t> applied_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<P> last_;
  std::optional<P> acked_;
  Clock::time_point first_applied_{};  // written once by the pipeline thread
};

/// Prints one timed consumer run: its rate and CPU, the time to its first change and the rate
/// after it, and the target's size per row (MemoryUsage and resident growth).
template <class P>
void PrintRun(const char* label, const char* unit, std::uint64_t count, const Timing& t,
              const DoneObserver<P>& observer, Clock::time_point start, Clock::time_point end,
              const memory::IndexedTarget& replica, std::int64_t rss_before, std::int64_t rss_after,
              bool first_round) {
  const auto rows = static_cast<double>(replica.Count());
  std::printf(
      "  %s %.0f %s/s (%.2f s), client CPU %.2f s; first one after %.2f s, then %.0f %s/s; "
      "target %.0f bytes/row (MemoryUsage), RSS +%.0f bytes/row%s\n",
      label, static_cast<double>(count) / t.seconds, unit, t.seconds, t.cpu_seconds,
      Seconds(observer.first_applied() - start),
      static_cast<double>(count - 1) / Seconds(end - observer.first_applied()), unit,
      static_cast<double>(replica.MemoryUsage()) / rows,
      static_cast<double>(rss_after - rss_before) / rows,
      first_round ? "" : " (the allocator reuses the previous round's memory)");
}

}  // namespace laredo::bench
