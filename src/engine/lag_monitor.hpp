#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <thread>
#include <vector>

#include "laredo/engine_observer.hpp"

namespace laredo::engine {

class SourceRunner;

/// Samples every source's `GetLag()` each `interval` and reports it through
/// `EngineObserver::OnLag`, on a thread of its own: a source's lag query may take a round trip
/// (PostgreSQL asks the server), which must not delay ACKs or changes. A failing query is logged
/// once per failure streak and skipped.
///
/// Threading: `Start` and `Stop` from the engine's thread; the sampling thread is its own.
class LagMonitor {
 public:
  LagMonitor(std::vector<SourceRunner*> runners, std::shared_ptr<EngineObserver> observer,
             std::chrono::milliseconds interval)
      : runners_(std::move(runners)), observer_(std::move(observer)), interval_(interval) {}
  ~LagMonitor() { Stop(); }
  LagMonitor(const LagMonitor&) = delete;
  LagMonitor& operator=(const LagMonitor&) = delete;

  /// Starts sampling, unless the interval is zero.
  void Start();
  /// Stops and joins the thread (before the sources are closed).
  void Stop();

 private:
  void Loop(const std::stop_token& stop);

  const std::vector<SourceRunner*> runners_;
  const std::shared_ptr<EngineObserver> observer_;
  const std::chrono::milliseconds interval_;
  std::jthread thread_;
};

}  // namespace laredo::engine
