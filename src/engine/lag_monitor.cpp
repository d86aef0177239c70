#include "engine/lag_monitor.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <string>

#include "engine/source_runner.hpp"
#include "laredo/backoff.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

void LagMonitor::Start() {
  if (interval_ <= std::chrono::milliseconds::zero() || runners_.empty()) return;
  thread_ = std::jthread([this](const std::stop_token& stop) { Loop(stop); });
}

void LagMonitor::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void LagMonitor::Loop(const std::stop_token& stop) {
  std::map<const SourceRunner*, bool> failing;  // so a lasting failure is logged once
  while (SleepFor(stop, interval_)) {
    for (auto* runner : runners_) {
      if (stop.stop_requested()) return;
      try {
        const LagInfo lag = runner->Lag();
        failing[runner] = false;
        runner->SetLastLag(lag);
        observer_->OnLag(runner->id(), lag);
      } catch (const std::exception& e) {
        if (!std::exchange(failing[runner], true)) {
          Logger()->warn("source {}: lag query failed: {}", runner->id(), e.what());
        }
      }
    }
  }
}

}  // namespace laredo::engine
