#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "laredo/pg/source.hpp"

namespace laredo::pg {

/// What the heartbeats did since the source was created; shared by the source and its
/// heartbeat thread.
struct HeartbeatCounters {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> failed{0};
  std::mutex mu;  // guards last_error
  std::string last_error;

  [[nodiscard]] HeartbeatStats Snapshot();
};

/// The statement a heartbeat runs when `SourceOptions::heartbeat_query` is empty.
[[nodiscard]] std::string DefaultHeartbeatQuery();

/// Runs `SourceOptions::heartbeat_query` every `heartbeat_interval` on one connection of its own,
/// on a thread of its own, from construction until destruction (RAII: the destructor stops and
/// joins it). A failure is counted and logged, the connection dropped and opened again at the next
/// beat; it never ends the stream: a heartbeat helps the slot advance, it is not needed for
/// correctness.
///
/// Threading contract: constructed and destroyed by one thread; `counters` outlives it and may be
/// read from any thread.
class Heartbeat {
 public:
  Heartbeat(const SourceOptions& options, const std::string& slot, HeartbeatCounters& counters);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  void Run(const std::stop_token& stop);

  const std::string conninfo_;
  const std::string query_;
  const std::string application_name_;
  const std::chrono::milliseconds interval_;
  HeartbeatCounters& counters_;
  std::jthread thread_;  // last: starts once the members above exist
};

}  // namespace laredo::pg
