#include "heartbeat.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>

#include "laredo/logging.hpp"
#include "laredo/pg/streaming.hpp"
#include "pg_connection.hpp"

namespace laredo::pg {

HeartbeatStats HeartbeatCounters::Snapshot() {
  HeartbeatStats out{.sent = sent.load(), .failed = failed.load(), .last_error = {}};
  std::lock_guard lk(mu);
  out.last_error = last_error;
  return out;
}

std::string DefaultHeartbeatQuery() {
  // Non-transactional: one WAL record in the slot's database, without a transaction id.
  return fmt::format("SELECT pg_logical_emit_message(false, '{}', '')", kHeartbeatPrefix);
}

Heartbeat::Heartbeat(const SourceOptions& options, const std::string& slot,
                     HeartbeatCounters& counters)
    : conninfo_(options.conninfo),
      query_(options.heartbeat_query.empty() ? DefaultHeartbeatQuery() : options.heartbeat_query),
      application_name_(("laredo heartbeat " + slot).substr(0, 63)),
      interval_(options.heartbeat_interval),
      counters_(counters),
      thread_([this](const std::stop_token& stop) { Run(stop); }) {}

Heartbeat::~Heartbeat() = default;  // the jthread requests the stop and joins

void Heartbeat::Run(const std::stop_token& stop) {
  PgConnection conn;
  bool failing = false;
  std::mutex mu;
  std::condition_variable_any wake;
  // A statement stuck on a lock must not hold up the next beats for long.
  const auto statement_timeout =
      std::max<std::chrono::milliseconds>(interval_, std::chrono::milliseconds(1000));
  for (;;) {
    {
      std::unique_lock lk(mu);
      wake.wait_for(lk, stop, interval_, [] { return false; });
    }
    if (stop.stop_requested()) return;
    try {
      if (!conn.is_open()) {
        conn = PgConnection::Connect(conninfo_, ConnectionKind::Normal, application_name_);
        conn.Exec(fmt::format("SET statement_timeout = {}", statement_timeout.count()),
                  "setting the heartbeat's statement_timeout");
      }
      conn.Exec(query_, "running the heartbeat query");
      counters_.sent.fetch_add(1);
      if (failing) Logger()->info("pg source: heartbeat works again");
      failing = false;
    } catch (const std::exception& e) {
      conn.Reset();
      counters_.failed.fetch_add(1);
      {
        std::lock_guard lk(counters_.mu);
        counters_.last_error = e.what();
      }
      // Once per streak: a server that is down would otherwise log at every beat.
      if (!failing)
        Logger()->warn("pg source: heartbeat failed (retried every beat): {}", e.what());
      failing = true;
    }
  }
}

}  // namespace laredo::pg
