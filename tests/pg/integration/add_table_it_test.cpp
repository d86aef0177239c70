// Adding a table to a running PostgreSQL source (Engine::AddPipeline after Start) against a real
// server: the table joins the managed publication and is loaded exact under a writer making every
// kind of change, without a baseline of the table that streams; a walsender killed during the
// load and a restart after it, and an addition inside another table's reload with a pause, lose
// nothing; a transaction open when the table joined is waited for, and so is a lock a migration
// holds; and tables that cannot be added fail their pipeline alone with the reason.
#include <fmt/format.h>

#include <set>

#include "reload_harness.hpp"

namespace laredo::pg::testing {
namespace {

class PgAddTableTest : public PgReloadTest {
 public:
  std::string Published(const std::string& table) {
    return Scalar(fmt::format(
        "SELECT count(*) FROM pg_publication_tables WHERE pubname = '{}' AND schemaname = '{}' "
        "AND tablename = '{}'",
        name_, name_, table));
  }
  std::shared_ptr<memory::IndexedTarget> StartU(Harness& h) {
    auto u = std::make_shared<memory::IndexedTarget>();
    h.engine.AddPipeline("pg", T("u"), u);
    h.engine.Start();
    EXPECT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
    return u;
  }
};

TEST_F(PgAddTableTest, ATableAddedWhileStreamingIsLoadedExactWithoutABaselineOfTheOther) {
  CreateTables(3000);
  Harness h(ReloadOptions(200, 10ms));
  auto u = StartU(h);
  EXPECT_EQ(Published("t"), "0");
  Writer writer(*this, 3000);
  ASSERT_TRUE(Eventually([&] { return writer.rounds() >= 5; }, 30s));

  auto t = std::make_shared<memory::IndexedTarget>();
  const auto t_id = h.engine.AddPipeline("pg", T("t"), t);
  ASSERT_TRUE(h.engine.AwaitReady({t_id}, 60s)) << h.engine.NotReadyReason({t_id});
  EXPECT_EQ(Published("t"), "1");
  EXPECT_FALSE(h.engine.Pipeline(t_id).reloading);
  ASSERT_TRUE(Eventually([&] { return writer.rounds() >= 20; }, 30s));  // changes after the load
  writer.Stop();

  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_TRUE(Converged(*u, "u"));
  EXPECT_TRUE(h.observer->Rebaselines().empty());
  EXPECT_EQ(h.observer->BaselineRows("pg/" + name_ + ".u"), 100U);  // u's only load: the first
  const auto stats = h.source->ReloadStatistics();
  EXPECT_EQ(stats.completed, 1U);
  EXPECT_GE(stats.chunks, 5U);  // fewer than 15: the writer deletes and moves rows meanwhile
  EXPECT_EQ(h.engine.Pipeline(t_id).state, PipelineState::Streaming);
}

// The default slot is temporary, and lives as long as its connection: the stream ended for the
// addition takes it along (PostgreSQL 15 ends a second logical stream on the same connection at
// once), so the addition costs one fresh baseline of every table, announced as a re-baseline,
// and loses nothing. (A stateful slot adds without one: the tests above.)
TEST_F(PgAddTableTest, ATableAddedToASourceWithATemporarySlotIsBaselinedOnceAndLosesNothing) {
  CreateTables(3000);
  auto options = ReloadOptions(200, 0ms);
  options.slot_mode = SlotMode::Ephemeral;
  Harness h(options);
  auto u = StartU(h);
  Writer writer(*this, 3000);
  ASSERT_TRUE(Eventually([&] { return writer.rounds() >= 5; }, 30s));

  auto t = std::make_shared<memory::IndexedTarget>();
  const auto t_id = h.engine.AddPipeline("pg", T("t"), t);
  ASSERT_TRUE(h.engine.AwaitReady({t_id}, 60s)) << h.engine.NotReadyReason({t_id});
  ASSERT_TRUE(Eventually([&] { return writer.rounds() >= 20; }, 30s));  // changes after the load
  writer.Stop();

  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_TRUE(Converged(*u, "u"));
  const auto rebaselines = h.observer->Rebaselines();
  ASSERT_EQ(rebaselines.size(), 1U);
  EXPECT_NE(rebaselines[0].find("temporary"), std::string::npos) << rebaselines[0];
  EXPECT_EQ(h.engine.Pipeline(t_id).state, PipelineState::Streaming);
}

TEST_F(PgAddTableTest, AWalsenderKilledDuringTheLoadAndARestartAfterItLoseNothing) {
  CreateTables(3000);
  {
    Harness h(ReloadOptions(150, 20ms));
    auto u = StartU(h);
    Writer writer(*this, 3000);
    auto t = std::make_shared<memory::IndexedTarget>();
    const auto t_id = h.engine.AddPipeline("pg", T("t"), t);
    ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().chunks >= 3; }, 30s));
    EXPECT_FALSE(h.engine.AwaitReady({t_id}, 0ms));  // not ready while it loads
    ASSERT_TRUE(KillWalsender());
    ASSERT_TRUE(h.engine.AwaitReady({t_id}, 60s)) << h.engine.NotReadyReason({t_id});
    EXPECT_GE(h.source->ReloadStatistics().continued, 1U);  // from its last chunk
    writer.Stop();
    EXPECT_TRUE(Converged(*t, "t"));
    EXPECT_TRUE(Converged(*u, "u"));
    EXPECT_TRUE(h.observer->Rebaselines().empty());
    h.engine.Stop();
  }
  // The next start names both tables; the publication kept t, and the slot serves both.
  Exec("UPDATE " + Q("t") + " SET v = 'while down' WHERE id % 5 = 0");
  Harness h(ReloadOptions(150, 0ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  auto u = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), t);
  h.engine.AddPipeline("pg", T("u"), u);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
  Exec("DELETE FROM " + Q("t") + " WHERE id % 5 = 1");
  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_TRUE(Converged(*u, "u"));
}

// The addition lands inside a reload of the other table, under a writer, and the source is
// paused and resumed while both load.
TEST_F(PgAddTableTest, AnAdditionDuringAnotherTablesReloadAndAPauseLosesNothing) {
  CreateTables(3000);
  Harness h(ReloadOptions(150, 20ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  const auto t_id = h.engine.AddPipeline("pg", T("t"), t);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
  Writer writer(*this, 3000);
  h.engine.ReloadTable("pg", T("t"));
  ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().chunks >= 2; }, 30s));
  auto u = std::make_shared<memory::IndexedTarget>();
  const auto u_id = h.engine.AddPipeline("pg", T("u"), u);
  h.engine.Pause("pg");
  ASSERT_TRUE(Eventually([&] { return h.engine.GetSourceState("pg") == SourceState::Paused; }));
  EXPECT_FALSE(h.engine.AwaitReady({u_id}, 0ms));
  h.engine.Resume("pg");
  ASSERT_TRUE(h.engine.AwaitReady({t_id, u_id}, 60s)) << h.engine.NotReadyReason({t_id, u_id});
  ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().completed >= 2; }, 60s));
  // The stream ended for u, and the reload of t went on or began again (as the stop fell).
  const auto stats = h.source->ReloadStatistics();
  EXPECT_GE(stats.restarted + stats.continued, 1U);
  writer.Stop();
  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_TRUE(Converged(*u, "u"));
  EXPECT_TRUE(h.observer->Rebaselines().empty());
}

TEST_F(PgAddTableTest, ATransactionOpenWhenTheTableJoinsThePublicationIsWaitedFor) {
  CreateTables(500);
  Harness h(ReloadOptions(100, 0ms));
  auto u = StartU(h);
  // Begun before the table joins the publication, written after, committed once the load could
  // have read its first chunk: without the wait neither the stream nor a chunk might hold it.
  auto open = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test open");
  open.Exec("BEGIN; SELECT 1", "beginning");
  auto t = std::make_shared<memory::IndexedTarget>();
  const auto t_id = h.engine.AddPipeline("pg", T("t"), t);
  ASSERT_TRUE(Eventually([&] { return Published("t") == "1"; }, 30s));
  open.Exec("INSERT INTO " + Q("t") + " VALUES (-7, 'open', 'x'); UPDATE " + Q("t") +
                " SET v = 'open' WHERE id = 3",
            "writing in the open transaction");
  // Waited for, while the other table streams on: nothing of t is read while it is open.
  Exec("INSERT INTO " + Q("u") + " VALUES (-1, 'while waiting')");
  EXPECT_TRUE(Converged(*u, "u"));
  ASSERT_TRUE(Eventually(
      [&] {
        // This one at least; tests running alongside in the same database may add theirs.
        return h.source->ReloadStatistics().last_error.find("open since before it joined") !=
               std::string::npos;
      },
      30s))
      << h.source->ReloadStatistics().last_error;
  EXPECT_EQ(h.source->ReloadStatistics().chunks, 0U);
  EXPECT_FALSE(h.engine.AwaitReady({t_id}, 0ms));
  open.Exec("COMMIT", "committing");
  ASSERT_TRUE(h.engine.AwaitReady({t_id}, 60s)) << h.engine.NotReadyReason({t_id});
  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_EQ(t->Get({Value(std::int64_t{3})})->at("v"), Value("open"));
  EXPECT_TRUE(t->Get({Value(std::int64_t{-7})}).has_value());
}

// A second target of a table under reload: the reload begins again from nothing, so the newcomer
// gets the table whole, and the first target's copy is exact too.
TEST_F(PgAddTableTest, ASecondTargetAddedDuringItsTablesReloadGetsTheTableWhole) {
  CreateTables(3000);
  Harness h(ReloadOptions(100, 20ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  h.engine.AddPipeline("pg", T("t"), t);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
  Writer writer(*this, 3000);
  h.engine.ReloadTable("pg", T("t"));
  ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().chunks >= 3; }, 30s));
  auto second = std::make_shared<memory::IndexedTarget>();
  const auto second_id = h.engine.AddPipeline("pg", T("t"), second);
  ASSERT_TRUE(h.engine.AwaitReady({second_id}, 60s)) << h.engine.NotReadyReason({second_id});
  EXPECT_GE(h.source->ReloadStatistics().restarted, 1U);
  writer.Stop();
  EXPECT_TRUE(Converged(*second, "t"));
  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_TRUE(h.observer->Rebaselines().empty());
}

// A migration holds the table: the addition's ALTER PUBLICATION waits past lock_timeout (55P03).
// That is worth waiting out, not a reason to fail the pipeline: each attempt (a new connection)
// waits again until the lock is gone, and then the table loads.
TEST_F(PgAddTableTest, ALockTimeoutWhileAddingIsRetriedUntilTheLockIsGone) {
  CreateTables(200);
  auto options = ReloadOptions(100, 0ms);
  options.conninfo += " options='-c lock_timeout=200'";
  Harness h(options, /*source_max_retries=*/1000);
  auto u = StartU(h);
  auto migration = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test lock");
  migration.Exec("BEGIN; LOCK TABLE " + Q("t") + " IN ACCESS EXCLUSIVE MODE", "locking");
  auto t = std::make_shared<memory::IndexedTarget>();
  const auto t_id = h.engine.AddPipeline("pg", T("t"), t);
  std::set<std::string> waiting;  // the backends seen waiting for the lock
  ASSERT_TRUE(Eventually(
      [&] {
        const auto pid = Scalar("SELECT min(pid) FROM pg_locks WHERE NOT granted AND relation = '" +
                                Q("t") + "'::regclass");
        if (!pid.empty()) waiting.insert(pid);
        return waiting.size() >= 2;
      },
      30s))
      << h.engine.NotReadyReason({t_id});
  EXPECT_FALSE(h.engine.AwaitReady({t_id}, 0ms));
  migration.Exec("COMMIT", "unlocking");
  ASSERT_TRUE(h.engine.AwaitReady({t_id}, 60s)) << h.engine.NotReadyReason({t_id});
  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_TRUE(Converged(*u, "u"));
}

TEST_F(PgAddTableTest, TablesThatCannotBeAddedFailTheirPipelineAloneWithTheReason) {
  CreateTables(10);
  Exec("CREATE TABLE " + Q("nokey") + " (id int, v text)");
  Harness h(ReloadOptions(100, 0ms));
  auto u = StartU(h);
  const auto fails_with = [&](const std::string& table, const std::string& reason) {
    const auto id = h.engine.AddPipeline("pg", T(table), std::make_shared<memory::IndexedTarget>());
    EXPECT_FALSE(h.engine.AwaitReady({id}, 30s));
    const auto status = h.engine.Pipeline(id);
    EXPECT_EQ(status.state, PipelineState::Error) << table;
    EXPECT_NE(status.last_error.find(reason), std::string::npos) << status.last_error;
    EXPECT_EQ(status.last_error.find("password"), std::string::npos) << status.last_error;
  };
  fails_with("nokey", "no primary key");
  fails_with("missing", "no such table");
  EXPECT_EQ(Published("nokey"), "0");
  // The source streams on.
  Exec("INSERT INTO " + Q("u") + " VALUES (-1, 'after')");
  EXPECT_TRUE(Converged(*u, "u"));
  EXPECT_EQ(h.engine.GetSourceState("pg"), SourceState::Streaming);
}

TEST_F(PgAddTableTest, APublicationSomeoneElseManagesMustPublishTheTableFirst) {
  CreateTables(10);
  Exec("CREATE PUBLICATION " + name_ + " FOR TABLE " + Q("u"));
  auto options = ReloadOptions(100, 0ms);
  options.manage_publication = false;
  Harness h(options);
  auto u = StartU(h);
  const auto id = h.engine.AddPipeline("pg", T("t"), std::make_shared<memory::IndexedTarget>());
  EXPECT_FALSE(h.engine.AwaitReady({id}, 30s));
  const auto error = h.engine.Pipeline(id).last_error;
  EXPECT_NE(error.find("not in publication"), std::string::npos) << error;
  EXPECT_NE(error.find("ALTER PUBLICATION"), std::string::npos) << error;
  EXPECT_EQ(Published("t"), "0");  // left alone
  // Once published, a new pipeline of it loads.
  Exec("ALTER PUBLICATION " + name_ + " ADD TABLE " + Q("t"));
  auto t = std::make_shared<memory::IndexedTarget>();
  const auto again = h.engine.AddPipeline("pg", T("t"), t);
  ASSERT_TRUE(h.engine.AwaitReady({again}, 60s)) << h.engine.NotReadyReason({again});
  EXPECT_TRUE(Converged(*t, "t"));
}

}  // namespace
}  // namespace laredo::pg::testing
