// ACK safety, reconnects and idle slots against a real server.
#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::RecordingTarget;

TEST_F(PgTest, ConfirmedFlushNeverPassesWhatTheTargetMadeDurable) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  Lsn after;
  {
    Harness h(Options());
    auto target = std::make_shared<RecordingTarget>();
    target->SetDurable(false);
    h.engine.AddPipeline("pg", T("t"), target);
    h.engine.Start();
    ASSERT_TRUE(h.engine.AwaitReady(30s));
    for (int i = 1; i <= 5; ++i) {
      Exec("INSERT INTO " + Q("t") + " VALUES (" + std::to_string(i) + ")");
    }
    after = CurrentLsn();
    ASSERT_TRUE(target->AwaitApplied(5, 30s));
    // Status updates kept flowing after everything was received...
    ASSERT_TRUE(Eventually(
        [&] {
          auto w = Scalar(
              "SELECT r.write_lsn FROM pg_stat_replication r JOIN pg_replication_slots s "
              "ON s.active_pid = r.pid WHERE s.slot_name = '" +
              name_ + "'");
          return !w.empty() && Lsn::Parse(w) >= after;
        },
        30s));
    h.engine.Stop();  // ...and the final ACK went out
  }
  // ...yet the slot still holds every transaction: none was durable. (The slot may move up to
  // the first transaction's commit, so its LSN alone proves nothing; what it still delivers does.)
  ASSERT_TRUE(Eventually([&] {
    return Query("SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + name_ + "' AND active")
        .empty();
  }));
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_logical_slot_peek_binary_changes('" + name_ +
                   "', NULL, NULL, 'proto_version', '1', 'publication_names', '" + name_ +
                   "') WHERE get_byte(data, 0) = ascii('I')"),
            "5");

  // A durable target receives them on resume, and then the slot moves past them.
  Harness h(Options());
  auto target = std::make_shared<RecordingTarget>();
  target->SetKeepsState(true);
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(target->AwaitApplied(5, 30s));
  EXPECT_EQ(target->CountOf("insert"), 5U);
  EXPECT_EQ(target->CountOf("baseline"), 0U);
  ASSERT_TRUE(Eventually([&] { return ConfirmedFlush().value() >= after; }, 30s));
  h.engine.Stop();
}

TEST_F(PgTest, IdleSourceAdvancesItsSlot) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  Exec("CREATE TABLE " + Q("unrelated") + " (id int PRIMARY KEY)");
  Harness h(Options());
  h.engine.AddPipeline("pg", T("t"), std::make_shared<memory::IndexedTarget>());
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  for (int i = 0; i < 20; ++i) {
    Exec("INSERT INTO " + Q("unrelated") + " VALUES (" + std::to_string(i) + ")");
  }
  const Lsn written = CurrentLsn();
  EXPECT_TRUE(Eventually([&] { return ConfirmedFlush().value() >= written; }, 30s))
      << ConfirmedFlush()->ToString() << " < " << written.ToString();
  h.engine.Stop();
}

// Table "t" (id int key, v int) with `rows` rows, replicated by `h` into an indexed target;
// the engine is started.
std::shared_ptr<memory::IndexedTarget> StartReplicaOfT(PgTest& t, Harness& h, int rows) {
  t.Exec("CREATE TABLE " + t.Q("t") + " (id int PRIMARY KEY, v int)");
  t.Exec("INSERT INTO " + t.Q("t") + " SELECT g, 0 FROM generate_series(1, " +
         std::to_string(rows) + ") g");
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", t.T("t"), target);
  h.engine.Start();
  return target;
}

void KillWalsenderMidStream(PgTest& t, SlotMode mode) {
  Harness h(t.Options(mode));
  auto target = StartReplicaOfT(t, h, 100);
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  for (int i = 101; i <= 200; ++i) {
    t.Exec("INSERT INTO " + t.Q("t") + " VALUES (" + std::to_string(i) + ", 1)");
    if (i == 150) {
      ASSERT_TRUE(Eventually([&] { return t.KillWalsender(); }, 30s));
    }
  }
  t.Exec("UPDATE " + t.Q("t") + " SET v = v + 10 WHERE id % 3 = 0");
  t.Exec("DELETE FROM " + t.Q("t") + " WHERE id % 7 = 0");
  ASSERT_TRUE(t.Converged(*target, "t"));
  EXPECT_TRUE(
      Eventually([&] { return h.engine.GetSourceState("pg") == SourceState::Streaming; }, 30s));
  if (mode == SlotMode::Ephemeral) {
    EXPECT_FALSE(h.observer->Rebaselines().empty());  // a new temporary slot, a new baseline
  } else {
    EXPECT_TRUE(h.observer->Rebaselines().empty());  // resumed from the slot
  }
  h.engine.Stop();
}

TEST_F(PgTest, StatefulSourceReconnectsAfterWalsenderIsKilled) {
  KillWalsenderMidStream(*this, SlotMode::Stateful);
}

/// Records source states as the observer hears of them.
class StateLog : public EngineObserver {
 public:
  void OnSourceStateChanged(std::string_view, SourceState state) override {
    std::lock_guard lk(mu_);
    states_.push_back(state);
  }
  bool Saw(SourceState first, SourceState then) {
    std::lock_guard lk(mu_);
    const auto at = std::find(states_.begin(), states_.end(), first);
    return at != states_.end() && std::find(at, states_.end(), then) != states_.end();
  }

 private:
  std::mutex mu_;
  std::vector<SourceState> states_;
};

TEST_F(PgTest, AReconnectIsReportedAsItHappensNotWhenTheEngineSamples) {
  // The ACK thread samples states every ack_interval; with 10 minutes it never does here, so the
  // Reconnecting seen below came from the source itself, during the reconnect.
  auto log = std::make_shared<StateLog>();
  auto options = laredo::testing::FastOptions(log);
  options.ack_interval = std::chrono::minutes(10);
  Engine engine(options);
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v int)");
  auto target = StartReplica(engine, "t", Options(SlotMode::Stateful));
  ASSERT_TRUE(engine.AwaitReady(30s));
  ASSERT_TRUE(Eventually([&] { return KillWalsender(); }, 30s));
  Exec("INSERT INTO " + Q("t") + " VALUES (1, 1)");
  ASSERT_TRUE(Converged(*target, "t"));
  EXPECT_TRUE(
      Eventually([&] { return log->Saw(SourceState::Reconnecting, SourceState::Streaming); }, 30s));
  engine.Stop();
}

TEST_F(PgTest, AwaitAppliedReadsYourOwnWriteWithoutPolling) {
  Engine engine(laredo::testing::FastOptions());
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v int)");
  auto target = StartReplica(engine, "t", Options(SlotMode::Stateful));
  ASSERT_TRUE(engine.AwaitReady(30s));
  for (int round = 1; round <= 5; ++round) {
    // Write, take the server's WAL position after the commit, wait, read: the row is there. The
    // commit is the last thing in the WAL, so the answer comes from the walsender's keepalive.
    // (With the test server's synchronous_commit = off, the walsender sees a commit only once
    // the WAL writer flushed it: up to a few wal_writer_delay of 200 ms.)
    Exec("INSERT INTO " + Q("t") + " VALUES (" + std::to_string(round) + ", " +
         std::to_string(round * 10) + ")");
    // The insert position: past the commit record even when synchronous_commit is off (the test
    // server's setting), where pg_current_wal_lsn() may still be before it.
    const auto lsn = Lsn::Parse(Scalar("SELECT pg_current_wal_insert_lsn()"));
    ASSERT_TRUE(engine.AwaitApplied("pg", PositionAt(lsn), 30s)) << "round " << round;
    const auto row = target->Get({Value(std::int64_t{round})});
    ASSERT_TRUE(row.has_value()) << "round " << round;
    EXPECT_EQ(row->at("v"), Value(std::int64_t{round * 10}));
  }
  // A position the server has not reached: false at the timeout.
  const auto now = Lsn::Parse(Scalar("SELECT pg_current_wal_insert_lsn()"));
  EXPECT_FALSE(engine.AwaitApplied("pg", PositionAt(Lsn(now.value() + (1ULL << 30))), 200ms));
  engine.Stop();
}

TEST_F(PgTest, LagReusesOneConnectionAndItsTimeKeepsGrowingWhileTheStreamStalls) {
  auto options = laredo::testing::FastOptions();
  options.lag_interval = std::chrono::milliseconds(0);  // only this test's calls query the lag
  Engine engine(options);
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v int)");
  const auto source_options = Options(SlotMode::Stateful);
  const std::string slot = source_options.slot_name;
  auto target = StartReplica(engine, "t", source_options);
  ASSERT_TRUE(engine.AwaitReady(30s));
  Exec("INSERT INTO " + Q("t") + " VALUES (1, 1)");
  ASSERT_TRUE(Converged(*target, "t"));
  for (int i = 0; i < 5; ++i) (void)engine.GetLag("pg");
  const std::string sessions =
      "SELECT count(*), min(backend_start)::text FROM pg_stat_activity "
      "WHERE application_name = '" +
      LagApplicationName(slot) + "'";
  const auto before = Query(sessions);
  ASSERT_EQ(before.at(0).at(0).value_or(""), "1");  // one connection for every call

  // Stalled: the source does not read while paused, the server goes on committing.
  engine.Pause("pg");
  Exec("INSERT INTO " + Q("t") + " VALUES (2, 2)");
  std::chrono::milliseconds first{};
  ASSERT_TRUE(Eventually(
      [&] {
        const auto lag = engine.GetLag("pg");
        first = lag.lag_time.value_or(std::chrono::milliseconds(0));
        return first > std::chrono::milliseconds(0);
      },
      30s));
  ASSERT_TRUE(Eventually(
      [&] {
        return engine.GetLag("pg").lag_time.value_or(std::chrono::milliseconds(0)) >=
               first + std::chrono::milliseconds(300);
      },
      30s))
      << "the time lag froze while the stream stalled";
  EXPECT_GT(engine.GetLag("pg").lag_bytes, 0);
  engine.Resume("pg");
  ASSERT_TRUE(Converged(*target, "t"));
  Exec("INSERT INTO " + Q("t") + " VALUES (3, 3)");
  ASSERT_TRUE(Converged(*target, "t"));
  EXPECT_TRUE(Eventually(
      [&] {
        return engine.GetLag("pg").lag_time.value_or(std::chrono::hours(1)) <
               std::chrono::seconds(2);
      },
      30s));
  EXPECT_EQ(Query(sessions), before);  // still the same connection
  engine.Stop();
}

TEST_F(PgTest, EphemeralSourceRebaselinesAfterWalsenderIsKilled) {
  KillWalsenderMidStream(*this, SlotMode::Ephemeral);
}

void ResetWhileStreaming(PgTest& t, SlotMode mode) {
  Harness h(t.Options(mode));
  auto target = StartReplicaOfT(t, h, 50);
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  ASSERT_TRUE(t.Converged(*target, "t"));
  const auto pid = t.AwaitWalsenderPid();
  const auto publication_oid =
      t.Scalar("SELECT oid FROM pg_publication WHERE pubname = '" + t.name_ + "'");
  ASSERT_FALSE(publication_oid.empty());

  h.source->ResetSource(/*drop_publication=*/true);
  // Rows deleted while the source was being reset must disappear: the replica is rebuilt.
  t.Exec("DELETE FROM " + t.Q("t") + " WHERE id <= 10");
  t.Exec("INSERT INTO " + t.Q("t") + " SELECT g, 1 FROM generate_series(51, 80) g");
  ASSERT_TRUE(t.Converged(*target, "t"));
  ASSERT_FALSE(h.observer->Rebaselines().empty());
  EXPECT_NE(h.observer->Rebaselines()[0].find("ResetSource"), std::string::npos)
      << h.observer->Rebaselines()[0];
  const auto new_pid = t.AwaitWalsenderPid();
  EXPECT_FALSE(new_pid.empty());
  EXPECT_NE(new_pid, pid);  // a new slot, streamed by a new walsender
  const auto new_oid = t.Scalar("SELECT oid FROM pg_publication WHERE pubname = '" + t.name_ + "'");
  EXPECT_FALSE(new_oid.empty());
  EXPECT_NE(new_oid, publication_oid);  // dropped and created again
  // And it keeps streaming.
  t.Exec("UPDATE " + t.Q("t") + " SET v = v + 5 WHERE id % 2 = 0");
  ASSERT_TRUE(t.Converged(*target, "t"));
  EXPECT_EQ(h.engine.GetSourceState("pg"), SourceState::Streaming);
  h.engine.Stop();
}

TEST_F(PgTest, ResetSourceWhileStreamingRecreatesSlotAndPublicationAndRebaselines) {
  ResetWhileStreaming(*this, SlotMode::Stateful);
}

TEST_F(PgTest, ResetSourceWhileStreamingAnEphemeralSourceRebaselines) {
  ResetWhileStreaming(*this, SlotMode::Ephemeral);
}

// The server ends a walsender that hears nothing for wal_sender_timeout. These tests set it to
// one second for the source's session and keep the source from reading for longer than that.
constexpr auto kShortWalSenderTimeout = 1s;
constexpr auto kStall = 3 * kShortWalSenderTimeout;

// Replicates "t" into `target`, waits until it streams, pauses it; returns the walsender's pid.
std::string StreamThenPause(PgTest& t, Harness& h,
                            const std::shared_ptr<memory::IndexedTarget>& target) {
  h.engine.AddPipeline("pg", t.T("t"), target);
  h.engine.Start();
  EXPECT_TRUE(h.engine.AwaitReady(30s));
  auto pid = t.AwaitWalsenderPid();
  EXPECT_FALSE(pid.empty());
  h.engine.Pause("pg");
  EXPECT_TRUE(Eventually([&] { return h.source->State() == SourceState::Paused; }));
  return pid;
}

TEST_F(PgTest, PausedSourceKeepsItsConnection) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  auto options = Options();
  options.conninfo = ConninfoWithSetting("wal_sender_timeout=1000");
  options.status_interval = 10s;  // the default: the source must lower it to beat the timeout
  Harness h(options);
  auto target = std::make_shared<memory::IndexedTarget>();
  std::string pid;
  ASSERT_NO_FATAL_FAILURE(pid = StreamThenPause(*this, h, target));
  Exec("INSERT INTO " + Q("t") + " SELECT g FROM generate_series(1, 1000) g");
  std::this_thread::sleep_for(kStall);  // the connection must outlive the server's timeout
  EXPECT_EQ(target->Count(), 0U);
  h.engine.Resume("pg");
  ASSERT_TRUE(Converged(*target, "t"));
  EXPECT_EQ(Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + name_ + "'"),
            pid);  // same walsender: the connection survived the pause
  EXPECT_TRUE(h.observer->Errors().empty());
  h.engine.Stop();
}

TEST_F(PgTest, PausedSourceReconnectsAsSoonAsTheServerEndsItsConnection) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  auto options = Options();
  options.status_interval = 10s;  // the default: a failed status update would take that long
  Harness h(options);
  auto target = std::make_shared<memory::IndexedTarget>();
  std::string pid;
  ASSERT_NO_FATAL_FAILURE(pid = StreamThenPause(*this, h, target));
  Exec("INSERT INTO " + Q("t") + " SELECT g FROM generate_series(1, 100) g");
  ASSERT_TRUE(KillWalsender());
  // Reconnected while still paused, well before a status update would have failed.
  EXPECT_TRUE(Eventually(
      [&] {
        const auto now = Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" +
                                name_ + "' AND active");
        return !now.empty() && now != pid;
      },
      5s));
  EXPECT_TRUE(Eventually([&] { return h.source->State() == SourceState::Paused; }));
  EXPECT_EQ(target->Count(), 0U);
  h.engine.Resume("pg");
  ASSERT_TRUE(Converged(*target, "t"));
  h.engine.Stop();
}

TEST_F(PgTest, BackpressureLongerThanTheWalSenderTimeoutKeepsTheConnection) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  auto options = Options();
  options.conninfo = ConninfoWithSetting("wal_sender_timeout=1000");
  options.status_interval = 10s;
  Harness h(options);
  auto target = std::make_shared<RecordingTarget>();
  PipelineOptions pipeline;
  pipeline.buffer_capacity = 4;
  h.engine.AddPipeline("pg", T("t"), target, pipeline);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  const auto pid = AwaitWalsenderPid();
  ASSERT_FALSE(pid.empty());
  target->CloseGate();
  Exec("INSERT INTO " + Q("t") + " SELECT g FROM generate_series(1, 100) g");
  ASSERT_TRUE(target->AwaitBlocked(30s));
  // The stream thread now sits in the engine's full buffer for three timeouts.
  std::this_thread::sleep_for(kStall);
  target->OpenGate();
  ASSERT_TRUE(target->AwaitApplied(100, 30s));
  EXPECT_EQ(target->CountOf("insert"), 100U);  // each once: no reconnect replayed anything
  EXPECT_EQ(Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + name_ + "'"),
            pid);
  EXPECT_TRUE(h.observer->Errors().empty());
  h.engine.Stop();
}

}  // namespace
}  // namespace laredo::pg::testing
