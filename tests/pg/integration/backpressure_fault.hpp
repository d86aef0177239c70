#pragma once

// A connection fault while the engine holds the stream thread on backpressure: the change the
// thread was handing over when its status update failed must still reach the target.

#include <algorithm>
#include <functional>
#include <vector>

#include "pg_harness.hpp"

namespace laredo::pg::testing {

/// Every id the target received through `op` ("insert", "baseline"), in order of arrival.
inline std::vector<std::int64_t> IdsOf(const laredo::testing::RecordingTarget& target,
                                       const std::string& op) {
  std::vector<std::int64_t> ids;
  for (const auto& c : target.Calls()) {
    if (c.op == op) ids.push_back(c.row.at("id").AsInt());
  }
  return ids;
}

/// Table "t" (id int key), replicated through a one-change buffer into a target that blocks.
/// Five single-row inserts fill the buffer and block the stream thread in the handler; then
/// `break_connection` ends the replication connection (the status updates sent while blocked fail),
/// the target is unblocked and two more rows are inserted. Every row must arrive exactly once: a
/// stateful source resumes from its slot, an ephemeral one takes a new baseline.
inline void LoseConnectionUnderBackpressure(PgTest& t, SlotMode mode,
                                            const std::function<void()>& break_connection) {
  t.Exec("CREATE TABLE " + t.Q("t") + " (id int PRIMARY KEY)");
  auto options = t.Options(mode);
  options.reconnect.max_attempts = 200;  // a restarting server refuses connections for a while
  // The same for the engine's retries of the re-baseline an ephemeral slot needs after a crash:
  // with 5 (the fast options) they could all fail within the server's restart.
  Harness h(options, /*source_max_retries=*/2000);
  auto target = std::make_shared<laredo::testing::RecordingTarget>();
  PipelineOptions pipeline;
  pipeline.buffer_capacity = 1;
  h.engine.AddPipeline("pg", t.T("t"), target, pipeline);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  const auto pid = t.AwaitWalsenderPid();
  target->CloseGate();
  const auto insert = [&](int id) {
    t.Exec("INSERT INTO " + t.Q("t") + " VALUES (" + std::to_string(id) + ")");
  };
  for (int id = 1; id <= 5; ++id) insert(id);
  const Lsn written = t.CurrentLsn();
  // Sent (and so flushed: a crash keeps it) before the connection breaks.
  ASSERT_TRUE(Eventually(
      [&] {
        const auto sent = t.Scalar(
            "SELECT r.sent_lsn FROM pg_stat_replication r JOIN pg_replication_slots s "
            "ON s.active_pid = r.pid WHERE s.slot_name = '" +
            t.name_ + "'");
        return !sent.empty() && Lsn::Parse(sent) >= written;
      },
      30s));
  // One change applies (blocked at the gate), one waits in the buffer, the stream thread waits
  // in the handler with the third.
  ASSERT_TRUE(target->AwaitBlocked(30s));
  ASSERT_TRUE(Eventually([&] { return h.source->State() == SourceState::Streaming; }));
  break_connection();
  if (mode == SlotMode::Stateful) {
    // Reconnected while the target still blocks: the resume point is chosen now.
    ASSERT_TRUE(Eventually(
        [&] {
          const auto now =
              t.Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + t.name_ +
                       "' AND active");
          return !now.empty() && now != pid;
        },
        60s));
  } else {
    ASSERT_TRUE(Eventually([&] { return !h.observer->Rebaselines().empty(); }, 60s));
  }
  target->OpenGate();
  insert(6);
  insert(7);
  const std::vector<std::int64_t> all{1, 2, 3, 4, 5, 6, 7};
  if (mode == SlotMode::Stateful) {
    ASSERT_TRUE(Eventually([&] { return IdsOf(*target, "insert").size() >= all.size(); }, 30s))
        << ::testing::PrintToString(IdsOf(*target, "insert"));
    EXPECT_EQ(IdsOf(*target, "insert"), all);
    EXPECT_TRUE(h.observer->Rebaselines().empty());
  } else {
    // The new baseline and the stream after it hold every row.
    ASSERT_TRUE(Eventually(
        [&] {
          auto ids = IdsOf(*target, "baseline");
          const auto inserted = IdsOf(*target, "insert");
          ids.insert(ids.end(), inserted.begin(), inserted.end());
          return std::all_of(all.begin(), all.end(), [&](std::int64_t id) {
            return std::find(ids.begin(), ids.end(), id) != ids.end();
          });
        },
        30s));
  }
  h.engine.Stop();
}

}  // namespace laredo::pg::testing
