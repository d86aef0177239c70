// The heartbeat (SourceOptions::heartbeat_interval) against a real server: its statement runs on
// its schedule on one connection of its own, a failing one is counted and never stops the stream,
// the default one moves the slot while only another database writes, and its messages do not
// reach the user's message handler.
#include <fmt/format.h>

#include <chrono>
#include <mutex>

#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

class PgHeartbeatTest : public PgOwnDatabaseTest {
 public:
  void CreateTable() { Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v text)"); }
  SourceOptions HeartbeatOptions(std::chrono::milliseconds every, std::string query = {}) {
    auto o = Options(SlotMode::Stateful);
    o.heartbeat_interval = every;
    o.heartbeat_query = std::move(query);
    return o;
  }
  std::string ApplicationName() const { return ("laredo heartbeat " + name_).substr(0, 63); }
  std::size_t HeartbeatConnections() {
    return Query("SELECT 1 FROM pg_stat_activity WHERE application_name = '" + ApplicationName() +
                 "'")
        .size();
  }
  // Writes in the server's default database, which this test's slot does not decode; returns the
  // insert position after it.
  Lsn WriteElsewhere(int rows) {
    auto other = PgConnection::Connect(server_conninfo_, ConnectionKind::Normal, "laredo test");
    const auto table = name_ + "_elsewhere";
    other.Exec("DROP TABLE IF EXISTS " + table, "dropping");
    other.Exec("CREATE TABLE " + table + " (id int, v text)", "creating");
    other.Exec(fmt::format("INSERT INTO {} SELECT i, repeat('x', 100) FROM generate_series(1, {}) "
                           "AS i",
                           table, rows),
               "writing elsewhere");
    other.Exec("DROP TABLE " + table, "dropping");
    return CurrentLsn();
  }
};

TEST_F(PgHeartbeatTest, TheQueryRunsEveryIntervalOnOneConnectionUntilTheStreamStops) {
  CreateTable();
  Exec("CREATE TABLE " + Q("beats") + " (pid int, at timestamptz DEFAULT clock_timestamp())");
  Harness h(
      HeartbeatOptions(30ms, "INSERT INTO " + Q("beats") + " (pid) VALUES (pg_backend_pid())"));
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  ASSERT_TRUE(Eventually(
      [&] { return std::stoi(Scalar("SELECT count(*) FROM " + Q("beats"))) >= 6; }, 30s));
  EXPECT_EQ(Scalar("SELECT count(DISTINCT pid) FROM " + Q("beats")), "1");  // one connection
  EXPECT_EQ(HeartbeatConnections(), 1U);
  // Spaced by the interval, not run back to back.
  const auto span_ms =
      std::stod(Scalar("SELECT extract(epoch FROM max(at) - min(at)) * 1000 FROM (SELECT at FROM " +
                       Q("beats") + " ORDER BY at LIMIT 6) AS first"));
  EXPECT_GE(span_ms, 5 * 30 * 0.8);
  const auto stats = h.source->HeartbeatStatistics();
  EXPECT_GE(stats.sent, 6U);
  EXPECT_EQ(stats.failed, 0U);
  // The stream goes on meanwhile.
  Exec("INSERT INTO " + Q("t") + " VALUES (1, 'a')");
  EXPECT_TRUE(Eventually([&] { return target->Count() == 1; }, 30s));
  h.engine.Stop();
  EXPECT_TRUE(Eventually([&] { return HeartbeatConnections() == 0; }, 30s));
}

TEST_F(PgHeartbeatTest, AFailingHeartbeatIsCountedAndTheStreamGoesOn) {
  CreateTable();
  Exec("CREATE TABLE " + Q("beats") + " (pid int)");
  Harness h(HeartbeatOptions(20ms, "INSERT INTO " + Q("beats") + " VALUES (pg_backend_pid())"));
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  ASSERT_TRUE(Eventually([&] { return h.source->HeartbeatStatistics().sent >= 2; }, 30s));
  // The statement starts failing (the table is gone), then its connection is killed.
  Exec("DROP TABLE " + Q("beats"));
  ASSERT_TRUE(Eventually([&] { return h.source->HeartbeatStatistics().failed >= 2; }, 30s));
  const auto failing = h.source->HeartbeatStatistics();
  EXPECT_NE(failing.last_error.find("42P01"), std::string::npos) << failing.last_error;
  Exec("INSERT INTO " + Q("t") + " VALUES (1, 'during failures')");
  EXPECT_TRUE(Eventually([&] { return target->Count() == 1; }, 30s));
  EXPECT_EQ(h.engine.GetSourceState("pg"), SourceState::Streaming);
  // The beats work again once the table is back; then their connection is killed, and a new one
  // takes over. (A failing statement also drops the connection, so the kill waits until the
  // beats succeed on one connection.)
  Exec("CREATE TABLE " + Q("beats") + " (pid int)");
  ASSERT_TRUE(Eventually(
      [&] { return std::stoi(Scalar("SELECT count(*) FROM " + Q("beats"))) >= 1; }, 30s));
  const auto killed = Scalar("SELECT min(pid) FROM " + Q("beats"));
  const auto failed_before = h.source->HeartbeatStatistics().failed;
  ASSERT_EQ(Scalar("SELECT pg_terminate_backend(" + killed + ", 10000)"), "t");
  const auto after_kill = [&] { return Q("beats") + " WHERE pid <> " + killed; };
  ASSERT_TRUE(Eventually(
      [&] { return std::stoi(Scalar("SELECT count(*) FROM " + after_kill())) >= 2; }, 30s));
  EXPECT_EQ(Scalar("SELECT count(DISTINCT pid) FROM " + after_kill()), "1");
  EXPECT_GT(h.source->HeartbeatStatistics().failed, failed_before);
  h.engine.Stop();
}

// With exact release (what the engine asks for when snapshots are on) the slot is confirmed only
// at the engine's ACKs of delivered changes: WAL that other databases write does not move it, and
// neither do the default heartbeat's messages (measured: the slot stayed put for 30 s either way).
// A heartbeat that writes a replicated table does: Debezium's heartbeat table.
TEST_F(PgHeartbeatTest, AHeartbeatTableMovesAnExactlyReleasedSlotWhileOnlyAnotherDatabaseWrites) {
  Exec("CREATE TABLE " + Q("heartbeat") + " (id int PRIMARY KEY, at timestamptz)");
  Harness h(HeartbeatOptions(50ms, "INSERT INTO " + Q("heartbeat") +
                                       " VALUES (1, clock_timestamp()) ON CONFLICT (id) DO UPDATE "
                                       "SET at = excluded.at"));
  h.source->ReleaseOnlyAcknowledged();
  auto replica = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("heartbeat"), replica);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  const auto beat_in_replica = [&] {
    const auto rows = replica->All();
    return rows.empty() ? std::string() : rows[0].at("at").ToString();
  };
  std::string last_seen;
  for (int round = 0; round < 3; ++round) {
    const auto after = WriteElsewhere(20'000);
    ASSERT_TRUE(Eventually([&] { return ConfirmedFlush().value_or(Lsn()) >= after; }, 30s))
        << "round " << round;
    // The replica's copy of the heartbeat row shows how current it is.
    ASSERT_TRUE(Eventually([&] { return beat_in_replica() != last_seen; }, 30s));
    last_seen = beat_in_replica();
  }
  h.engine.Stop();
}

// The default heartbeat (a logical decoding message in the slot's database): the user's message
// handler gets its own messages, never the heartbeat's, and the slot moves on while only another
// database writes.
TEST_F(PgHeartbeatTest, TheDefaultHeartbeatsMessagesDoNotReachTheMessageHandler) {
  CreateTable();
  std::mutex mu;
  std::vector<std::string> messages;
  auto options = HeartbeatOptions(20ms);
  options.on_message = [&](const LogicalMessage& m) {
    std::lock_guard lk(mu);
    messages.push_back(m.prefix + ":" + m.content);
  };
  Harness h(options);
  auto target = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), target);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  Exec("SELECT pg_logical_emit_message(false, 'app', 'mine')");
  const auto beats_before = h.source->HeartbeatStatistics().sent;
  ASSERT_TRUE(
      Eventually([&] { return h.source->HeartbeatStatistics().sent >= beats_before + 5; }, 30s));
  const auto after = WriteElsewhere(20'000);
  ASSERT_TRUE(Eventually([&] { return ConfirmedFlush().value_or(Lsn()) >= after; }, 30s));
  Exec("SELECT pg_logical_emit_message(false, 'app', 'last')");
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard lk(mu);
        return messages.size() >= 2;
      },
      30s));
  std::lock_guard lk(mu);
  // Every heartbeat between the two was decoded (the slot is past them) and none was delivered.
  EXPECT_EQ(messages, (std::vector<std::string>{"app:mine", "app:last"}));
  h.engine.Stop();
}

TEST(PgHeartbeatOptions, BadSettingsAreConfigErrors) {
  SourceOptions o{.conninfo = "host=127.0.0.1"};
  o.heartbeat_interval = std::chrono::milliseconds(-1);
  EXPECT_THROW(Source{o}, ConfigError);
  o.heartbeat_interval = std::chrono::milliseconds(0);
  o.heartbeat_query = "SELECT 1";
  try {
    Source s{o};
    ADD_FAILURE() << "a query without an interval was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("heartbeat_interval is zero"), std::string::npos);
  }
}

}  // namespace
}  // namespace laredo::pg::testing
