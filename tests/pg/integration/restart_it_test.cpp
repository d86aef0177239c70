// Restarts of the consuming process, schema changes and giving up on reconnects.
#include <set>

#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;
using laredo::testing::RecordingObserver;
using laredo::testing::RecordingTarget;

std::set<std::int64_t> Ids(const RecordingTarget& target, const std::string& op) {
  std::set<std::int64_t> ids;
  for (const auto& c : target.Calls()) {
    if (c.op == op) ids.insert(c.row.at("id").AsInt());
  }
  return ids;
}

std::set<std::int64_t> Range(std::int64_t from, std::int64_t to) {
  std::set<std::int64_t> ids;
  for (auto i = from; i <= to; ++i) ids.insert(i);
  return ids;
}

void InsertRange(PgTest& t, int from, int to) {
  for (int i = from; i <= to; ++i) {
    t.Exec("INSERT INTO " + t.Q("t") + " VALUES (" + std::to_string(i) + ")");
  }
}

// A target that keeps its rows across restarts: the second run resumes from the slot's
// confirmed_flush_lsn without a baseline and receives exactly what the first run did not ACK.
TEST_F(PgTest, StatefulResumeDeliversExactlyWhatWasNotAcknowledged) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  InsertRange(*this, 1, 10);
  {
    Engine engine(FastOptions());
    auto source = std::make_shared<Source>(Options());
    engine.AddSource("pg", source);
    auto target = std::make_shared<RecordingTarget>();
    target->SetKeepsState(true);
    engine.AddPipeline("pg", T("t"), target);
    engine.Start();
    ASSERT_TRUE(engine.AwaitReady(30s));
    InsertRange(*this, 11, 20);
    ASSERT_TRUE(target->AwaitApplied(20, 30s));
    EXPECT_EQ(Ids(*target, "baseline"), Range(1, 10));
    EXPECT_EQ(Ids(*target, "insert"), Range(11, 20));
    engine.Stop();  // the final ACK reaches the slot
  }
  InsertRange(*this, 21, 30);  // while no consumer runs
  Engine engine(FastOptions());
  engine.AddSource("pg", std::make_shared<Source>(Options()));
  auto target = std::make_shared<RecordingTarget>();
  target->SetKeepsState(true);
  engine.AddPipeline("pg", T("t"), target);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(30s));
  ASSERT_TRUE(target->AwaitApplied(10, 30s));
  InsertRange(*this, 31, 31);
  ASSERT_TRUE(target->AwaitApplied(11, 30s));
  EXPECT_EQ(target->CountOf("baseline"), 0U);
  EXPECT_EQ(Ids(*target, "insert"), Range(21, 31));
  engine.Stop();
}

// The in-memory target keeps nothing: a stateful source baselines again from a fresh snapshot
// (re-creating its slot) and continues from there.
TEST_F(PgTest, StatefulRestartWithMemoryTargetTakesAFreshBaseline) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  InsertRange(*this, 1, 10);
  {
    Engine engine(FastOptions());
    auto target = StartReplica(engine, "t", Options());
    ASSERT_TRUE(engine.AwaitReady(30s));
    InsertRange(*this, 11, 15);
    ASSERT_TRUE(Converged(*target, "t"));
    engine.Stop();
  }
  Exec("DELETE FROM " + Q("t") + " WHERE id <= 5");
  InsertRange(*this, 16, 20);
  Engine engine(FastOptions());
  auto target = StartReplica(engine, "t", Options());
  ASSERT_TRUE(engine.AwaitReady(30s));
  ASSERT_TRUE(Converged(*target, "t"));
  InsertRange(*this, 21, 25);
  ASSERT_TRUE(Converged(*target, "t"));
  engine.Stop();
}

TEST_F(PgTest, AddedColumnReachesTheTarget) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v text)");
  Exec("INSERT INTO " + Q("t") + " VALUES (1, 'a')");
  Engine engine(FastOptions());
  auto target = StartReplica(engine, "t", Options());
  ASSERT_TRUE(engine.AwaitReady(30s));
  Exec("INSERT INTO " + Q("t") + " VALUES (2, 'b')");
  ASSERT_TRUE(Converged(*target, "t"));
  Exec("ALTER TABLE " + Q("t") + " ADD COLUMN extra int");
  Exec("INSERT INTO " + Q("t") + " VALUES (3, 'c', 42)");
  Exec("UPDATE " + Q("t") + " SET extra = 7 WHERE id = 1");
  ASSERT_TRUE(Eventually([&] {
    auto row = target->Get({Value(3)});
    return row && row->Find("extra") != nullptr && row->at("extra") == Value(42);
  }));
  ASSERT_TRUE(Eventually([&] {
    auto row = target->Get({Value(1)});
    return row && row->Find("extra") != nullptr && row->at("extra") == Value(7);
  }));
  engine.Stop();
}

// A changed column type makes the in-memory target ask for a re-baseline; an ephemeral source
// takes it on a new temporary slot.
TEST_F(PgTest, ChangedColumnTypeRebaselinesAnEphemeralSource) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY, v int)");
  Exec("INSERT INTO " + Q("t") + " SELECT g, g FROM generate_series(1, 50) g");
  auto observer = std::make_shared<RecordingObserver>();
  Engine engine(FastOptions(observer));
  auto target = StartReplica(engine, "t", Options(SlotMode::Ephemeral));
  ASSERT_TRUE(engine.AwaitReady(30s));
  Exec("ALTER TABLE " + Q("t") + " ALTER COLUMN v TYPE bigint");
  Exec("UPDATE " + Q("t") + " SET v = v * 1000000000 WHERE id <= 10");
  ASSERT_TRUE(Eventually([&] { return !observer->Rebaselines().empty(); }, 30s));
  ASSERT_TRUE(Converged(*target, "t"));
  Exec("INSERT INTO " + Q("t") + " VALUES (51, 51)");
  ASSERT_TRUE(Converged(*target, "t"));
  engine.Stop();
}

TEST_F(PgTest, ReconnectRefusedForLackOfLoginIsNotRetried) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  Exec("CREATE PUBLICATION " + name_ + " FOR TABLE " + Q("t"));
  const std::string role = name_.substr(0, 40) + "_r";
  Exec("DROP ROLE IF EXISTS " + role);
  Exec("CREATE ROLE " + role + " LOGIN REPLICATION PASSWORD 'pw_" + role + "'");
  Exec("GRANT USAGE ON SCHEMA " + name_ + " TO " + role);
  Exec("GRANT SELECT ON " + Q("t") + " TO " + role);
  auto options = Options();
  options.conninfo = conninfo_ + " user=" + role + " password=pw_" + role;
  options.manage_publication = false;
  {
    Harness h(options);
    h.engine.AddPipeline("pg", T("t"), std::make_shared<memory::IndexedTarget>());
    h.engine.Start();
    ASSERT_TRUE(h.engine.AwaitReady(30s));
    ASSERT_FALSE(AwaitWalsenderPid().empty());
    // The role may not log in any more (28000): configuration, reported at the first attempt.
    Exec("ALTER ROLE " + role + " NOLOGIN");
    ASSERT_TRUE(KillWalsender());
    ASSERT_TRUE(Eventually([&] { return h.engine.SourceError("pg").has_value(); }, 30s));
    const auto error = *h.engine.SourceError("pg");
    EXPECT_NE(error.find("SQLSTATE 28000"), std::string::npos) << error;
    EXPECT_EQ(error.find("gave up reconnecting"), std::string::npos) << error;
    EXPECT_EQ(error.find("pw_"), std::string::npos) << error;
    EXPECT_EQ(h.engine.GetSourceState("pg"), SourceState::Error);
    h.engine.Stop();
  }
  Exec("DROP OWNED BY " + role);
  Exec("DROP ROLE " + role);
}

TEST_F(PgTest, LagIsReported) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  Engine engine(FastOptions());
  auto target = StartReplica(engine, "t", Options());
  ASSERT_TRUE(engine.AwaitReady(30s));
  InsertRange(*this, 1, 3);
  ASSERT_TRUE(Converged(*target, "t"));
  ASSERT_TRUE(Eventually([&] { return engine.GetLag("pg").lag_time.has_value(); }));
  const auto lag = engine.GetLag("pg");
  EXPECT_GE(lag.lag_bytes, 0);
  EXPECT_LT(lag.lag_time->count(), 10'000);
  engine.Stop();
}

}  // namespace
}  // namespace laredo::pg::testing
