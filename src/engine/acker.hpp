#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "engine/ack_tracker.hpp"
#include "engine/pipeline.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/sync_source.hpp"

namespace laredo::engine {

/// A source's ACK thread: every `interval`, the minimum of its pipelines' watermarks (against
/// what the dispatcher published) is acknowledged to the source when it advanced.
///
/// Threading: `Start`/`Stop` from the engine; `TryAck` from the ACK thread and, after `Stop`,
/// from the thread stopping the engine (serialised); the accessors from any thread.
class Acker {
 public:
  Acker(std::string source_id, SyncSource& source, std::vector<Pipeline*> pipelines,
        const PublishedFrontier& frontier, std::shared_ptr<EngineObserver> observer,
        std::chrono::milliseconds interval);
  ~Acker() { Stop(); }
  Acker(const Acker&) = delete;
  Acker& operator=(const Acker&) = delete;

  /// `after_each` runs on the ACK thread after every interval's attempt (state reports).
  void Start(std::function<void()> after_each);
  void Stop();
  /// Acknowledges the current minimum if it advanced.
  void TryAck();
  /// A pipeline added while the engine runs takes part from now on. Any thread.
  void Add(Pipeline* pipeline) {
    std::lock_guard lk(mu_);
    pipelines_.push_back(pipeline);
  }
  /// A resumed source starts from its saved position: the ACK state begins there.
  void StartAt(const Position& position, std::string text);

  [[nodiscard]] Position LastAcked() const;
  [[nodiscard]] std::string LastAckedText() const;

 private:
  void Loop(const std::stop_token& stop);

  const std::string source_id_;
  SyncSource& source_;
  std::vector<Pipeline*> pipelines_;  // guarded by mu_
  const PublishedFrontier& frontier_;
  const std::shared_ptr<EngineObserver> observer_;
  const std::chrono::milliseconds interval_;
  std::function<void()> after_each_;

  mutable std::mutex mu_;  // serialises TryAck; guards the state below
  Position last_acked_;
  std::string last_acked_text_;
  std::uint64_t last_acked_seq_ = 0;
  std::string last_error_;  // the failure last reported, so it is not repeated every interval
  std::jthread thread_;
};

}  // namespace laredo::engine
