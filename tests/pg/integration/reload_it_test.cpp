// Reloading one table while the stream flows (Engine::ReloadTable, DBLog watermarks) against a
// real server: a replica that lost rows is rebuilt exact under a concurrent writer (updates
// leaving TOASTed values unchanged, key changes, deletes, inserts) while the other table streams
// on untouched; the reload pauses with its source; a walsender killed, the chunk connection
// killed and a column added in the middle of it each make it start again or retry, and the
// replica still converges to SELECT *.
#include <fmt/format.h>
#include <gmock/gmock.h>

#include <atomic>
#include <future>
#include <thread>

#include "reload_harness.hpp"

namespace laredo::pg::testing {
namespace {

// An IndexedTarget that loses every row whose id is a multiple of 7 while `lossy` is set: a
// replica that went wrong (a target bug, a hand edit) and needs its table reloaded.
class LossyTarget final : public SyncTarget {
 public:
  std::atomic<bool> lossy{true};
  memory::IndexedTarget inner;

  void OnInit(const TableIdentifier& t, const std::vector<ColumnDefinition>& c) override {
    inner.OnInit(t, c);
  }
  void OnBaselineBegin(const TableIdentifier& t, const std::vector<ColumnDefinition>& c) override {
    inner.OnBaselineBegin(t, c);
  }
  void OnBaselineRow(const TableIdentifier& t, const Row& row) override {
    if (!Lost(row)) inner.OnBaselineRow(t, row);
  }
  void OnBaselineComplete(const TableIdentifier& t) override { inner.OnBaselineComplete(t); }
  void OnInsert(const TableIdentifier& t, const Row& row) override {
    if (!Lost(row)) inner.OnInsert(t, row);
  }
  void OnUpdate(const TableIdentifier& t, const Row& row, const Row& identity) override {
    inner.OnUpdate(t, row, identity);
  }
  void OnDelete(const TableIdentifier& t, const Row& identity) override {
    inner.OnDelete(t, identity);
  }
  void OnTruncate(const TableIdentifier& t) override { inner.OnTruncate(t); }
  bool IsDurable() override { return true; }
  bool CanReadRows() override { return true; }
  std::optional<Row> ReadRow(const TableIdentifier& t, const Row& identity) override {
    return inner.ReadRow(t, identity);
  }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier& t,
                                      const std::vector<ColumnDefinition>& before,
                                      const std::vector<ColumnDefinition>& after) override {
    return inner.OnSchemaChange(t, before, after);
  }
  void OnClose(const TableIdentifier& t) override { inner.OnClose(t); }

 private:
  bool Lost(const Row& row) const {
    const auto id = row.at("id").IntIf();
    return lossy && id && *id % 7 == 0;
  }
};

TEST_F(PgReloadTest, AReplicaThatLostRowsIsRebuiltExactWhileTheStreamFlows) {
  CreateTables(3000);
  Harness h(ReloadOptions(150, 50ms));
  auto t = std::make_shared<LossyTarget>();
  auto u = std::make_shared<memory::IndexedTarget>();
  const auto t_id = h.engine.AddPipeline("pg", T("t"), t);
  const auto u_id = h.engine.AddPipeline("pg", T("u"), u);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
  ASSERT_LT(t->inner.Count(), 3000U);  // diverged: the rows of multiples of 7 are missing
  t->lossy = false;

  h.engine.ReloadTable("pg", T("t"));
  ASSERT_TRUE(Eventually([&] { return h.engine.Pipeline(t_id).reloading; }, 30s));
  // Written only once the copy began: the old one lacks rows, and an update of one of them that
  // leaves its TOASTed value unchanged would make the engine re-baseline the whole source.
  Writer writer(*this, 3000);
  ASSERT_TRUE(Eventually([&] { return writer.rounds() >= 5; }, 30s));
  // The other table streams on meanwhile.
  Exec("INSERT INTO " + Q("u") + " VALUES (-1, 'during the reload')");
  ASSERT_TRUE(Eventually([&] { return u->Get({Value(std::int64_t{-1})}).has_value(); }, 30s));
  EXPECT_TRUE(h.engine.Pipeline(t_id).reloading);  // still reloading (chunks 50 ms apart)
  ASSERT_TRUE(ReloadDone(*h.source));
  writer.Stop();

  EXPECT_TRUE(Eventually([&] { return Index(t->inner.All()) == ReadTable("t"); }, 30s));
  EXPECT_TRUE(Eventually([&] { return Index(u->All()) == ReadTable("u"); }, 30s));
  const auto stats = h.source->ReloadStatistics();
  EXPECT_GE(stats.chunks, 5U);  // fewer than 20: the writer deletes and moves rows meanwhile
  EXPECT_EQ(stats.restarted, 0U);
  EXPECT_FALSE(h.engine.Pipeline(t_id).reloading);
  EXPECT_TRUE(h.observer->Rebaselines().empty());   // no other table was read again
  EXPECT_EQ(h.observer->BaselineRows(u_id), 100U);  // u's only baseline: the first
  EXPECT_GT(writer.rounds(), 5);
  // The stream kept its ACK moving: the slot is confirmed past the reload's end.
  const auto end = CurrentLsn();
  EXPECT_TRUE(Eventually(
      [&] {
        const auto confirmed = ConfirmedFlush();
        Exec("INSERT INTO " + Q("u") + " VALUES (-2, 'x') ON CONFLICT DO NOTHING");
        return confirmed && *confirmed >= end;
      },
      30s));
}

TEST_F(PgReloadTest, AReloadPausesWithItsSourceAndFinishesAfterResume) {
  CreateTables(2000);
  Harness h(ReloadOptions(100, 0ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  const auto t_id = h.engine.AddPipeline("pg", T("t"), t);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  h.engine.Pause("pg");
  ASSERT_TRUE(Eventually([&] { return h.engine.GetSourceState("pg") == SourceState::Paused; }));
  h.engine.ReloadTable("pg", T("t"));
  h.engine.ReloadTable("pg", T("t"));  // one request
  Exec("UPDATE " + Q("t") + " SET v = 'while paused' WHERE id % 10 = 0");
  // Nothing is read while paused: observed over a while (no condition marks "nothing happened").
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(h.source->ReloadStatistics().chunks, 0U);
  EXPECT_FALSE(h.engine.Pipeline(t_id).reloading);
  h.engine.Resume("pg");
  ASSERT_TRUE(ReloadDone(*h.source));
  EXPECT_TRUE(Eventually([&] { return Index(t->All()) == ReadTable("t"); }, 30s));
  const auto stats = h.source->ReloadStatistics();
  EXPECT_EQ(stats.requested, 1U);
  EXPECT_GE(stats.chunks, 20U);
  // The reload's rows, all of them (a row read again counts again).
  EXPECT_GE(h.observer->BaselineRows(t_id), 2000U);
}

// The reconnect continues the reload from its last merged chunk, not from the start. (The writer
// deletes and moves keys out of the scanned range quickly: 10,000 rows keep the reload going long
// enough under ThreadSanitizer.)
TEST_F(PgReloadTest, AKilledWalsenderAndAKilledChunkConnectionMidReloadStillConverge) {
  CreateTables(10000);
  Harness h(ReloadOptions(200, 25ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  ASSERT_NO_FATAL_FAILURE(StartT(h, t));
  Writer writer(*this, 10000);
  h.engine.ReloadTable("pg", T("t"));
  ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().chunks >= 5; }, 30s));
  const auto before_kill = h.source->ReloadStatistics().chunks;
  ASSERT_TRUE(KillWalsender());
  ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().continued >= 1; }, 30s));
  ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().chunks >= 8; }, 30s));
  const auto app = ("laredo reload " + name_).substr(0, 63);
  EXPECT_EQ(Scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                   "application_name = '" +
                   app + "'"),
            "1");
  ASSERT_TRUE(ReloadDone(*h.source));
  writer.Stop();
  EXPECT_TRUE(Eventually([&] { return Index(t->All()) == ReadTable("t"); }, 30s));
  const auto stats = h.source->ReloadStatistics();
  EXPECT_GE(stats.failed_reads, 1U);  // the killed chunk connection
  EXPECT_EQ(stats.restarted, 0U);
  EXPECT_LT(stats.chunks, before_kill + 51) << "the scan began again";  // 51 chunks hold 10,000
}

TEST_F(PgReloadTest, AColumnAddedMidReloadStartsItAgainWithTheNewColumns) {
  CreateTables(2000);
  Harness h(ReloadOptions(100, 20ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  ASSERT_NO_FATAL_FAILURE(StartT(h, t));
  h.engine.ReloadTable("pg", T("t"));
  ASSERT_TRUE(Eventually([&] { return h.source->ReloadStatistics().chunks >= 3; }, 30s));
  Exec("ALTER TABLE " + Q("t") + " ADD COLUMN extra int");
  Exec("UPDATE " + Q("t") + " SET extra = id WHERE id % 3 = 0");
  ASSERT_TRUE(ReloadDone(*h.source));
  EXPECT_GE(h.source->ReloadStatistics().restarted, 1U);
  EXPECT_TRUE(Eventually([&] { return Index(t->All()) == ReadTable("t"); }, 30s));
}

// Faults in combination: the walsender is killed three times during one reload, under a writer
// making every kind of change, while a slow target behind a small buffer keeps the stream blocked
// on backpressure much of the time. Each reconnect continues the reload, or begins it again when
// the connection fell while the engine was taking its rows; the copy is exact either way.
TEST_F(PgReloadTest, WalsenderKillsDuringAReloadUnderBackpressureAndAWriterConverge) {
  CreateTables(10000);
  Harness h(ReloadOptions(100, 0ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  PipelineOptions pipeline;
  pipeline.buffer_capacity = 16;
  h.engine.AddPipeline("pg", T("t"), std::make_shared<SlowTarget>(t, 500us), pipeline);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
  Writer writer(*this, 10000);
  h.engine.ReloadTable("pg", T("t"));
  std::uint64_t kills = 0;
  for (std::uint64_t kill = 1; kill <= 3; ++kill) {
    const auto chunks = h.source->ReloadStatistics().chunks;
    ASSERT_TRUE(Eventually(
        [&] {
          const auto s = h.source->ReloadStatistics();
          return s.chunks >= chunks + 3 || s.completed >= 1;
        },
        30s));
    if (h.source->ReloadStatistics().completed >= 1) break;  // no reload left to kill inside
    ASSERT_TRUE(KillWalsender());
    ++kills;
    ASSERT_TRUE(Eventually(
        [&] {
          const auto s = h.source->ReloadStatistics();
          return s.continued + s.restarted >= kill;
        },
        30s));
  }
  EXPECT_GE(kills, 1U);
  ASSERT_TRUE(ReloadDone(*h.source));
  writer.Stop();
  EXPECT_TRUE(Converged(*t, "t"));
  EXPECT_TRUE(h.observer->Rebaselines().empty());
  const auto s = h.source->ReloadStatistics();
  std::printf("reload: %llu continued, %llu restarted, %llu chunks, %llu rows\n",
              static_cast<unsigned long long>(s.continued),
              static_cast<unsigned long long>(s.restarted),
              static_cast<unsigned long long>(s.chunks), static_cast<unsigned long long>(s.rows));
}

// An update leaving a TOASTed value unchanged, of a row a filter kept out of the target until now:
// neither the change nor the target holds the value, so the table is reloaded alone while the
// other table streams on (no baseline of the source), and the row arrives whole.
TEST_F(PgReloadTest, AnUnfillableUpdateReloadsItsTableAloneWhileTheOtherStreams) {
  CreateTables(300);
  Exec("UPDATE " + Q("t") + " SET v = 'hidden' WHERE id = 5");
  Harness h(ReloadOptions(100, 0ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  auto u = std::make_shared<memory::IndexedTarget>();
  PipelineOptions filtered;
  filtered.filters.push_back([](const Row& r) { return r.at("v").AsText() != "hidden"; });
  h.engine.AddPipeline("pg", T("t"), t, filtered);
  h.engine.AddPipeline("pg", T("u"), u);
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s)) << h.engine.NotReadyReason();
  ASSERT_FALSE(t->Get({Value(std::int64_t{5})}).has_value());
  Exec("UPDATE " + Q("t") + " SET v = 'shown' WHERE id = 5");  // big: unchanged, not sent
  Exec("INSERT INTO " + Q("u") + " VALUES (-1, 'meanwhile')");
  ASSERT_TRUE(ReloadDone(*h.source));
  ASSERT_TRUE(Eventually([&] { return t->Get({Value(std::int64_t{5})}).has_value(); }, 30s));
  EXPECT_EQ(t->Get({Value(std::int64_t{5})})->at("big").AsText(),
            Scalar("SELECT big FROM " + Q("t") + " WHERE id = 5"));
  EXPECT_TRUE(Converged(*u, "u"));
  EXPECT_TRUE(h.observer->Rebaselines().empty()) << h.observer->Rebaselines()[0];
}

// A chunk read waits on a lock a migration holds (the reload connection's statement_timeout is
// 30 s): stopping the engine cancels the read instead of waiting the timeout out, and the stop
// is no failed read.
TEST_F(PgReloadTest, AStopWhileAChunkReadWaitsOnALockReturnsPromptly) {
  CreateTables(500);
  Harness h(ReloadOptions(100, 0ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  ASSERT_NO_FATAL_FAILURE(StartT(h, t));
  auto migration = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test lock");
  migration.Exec("BEGIN; LOCK TABLE " + Q("t") + " IN ACCESS EXCLUSIVE MODE", "locking");
  h.engine.ReloadTable("pg", T("t"));
  const auto app = ("laredo reload " + name_).substr(0, 63);
  ASSERT_TRUE(Eventually(
      [&] {
        return Scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                   "application_name = '" +
                   app + "'") == "1";
      },
      30s));
  auto stopped = std::async(std::launch::async, [&] { h.engine.Stop(); });
  const bool prompt = stopped.wait_for(10s) == std::future_status::ready;
  migration.Exec("COMMIT", "unlocking");  // lets a stop that waits finish, so the test ends
  stopped.wait();
  EXPECT_TRUE(prompt) << "Stop waited for the blocked chunk read";
  EXPECT_EQ(h.source->ReloadStatistics().failed_reads, 0U);
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "'"),
            "0");
}

TEST_F(PgReloadTest, RequestsThatCannotBeCarriedOutAreClearErrors) {
  CreateTables(10);
  Harness h(ReloadOptions(100, 0ms));
  auto t = std::make_shared<memory::IndexedTarget>();
  ASSERT_NO_FATAL_FAILURE(StartT(h, t));
  try {
    h.engine.ReloadTable("pg", T("u"));  // a table of the database, not of a pipeline
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("no pipeline of " + Q("u")));
  }
  EXPECT_THROW(h.engine.ReloadTable("nope", T("t")), ConfigError);
  EXPECT_EQ(h.source->ReloadStatistics().requested, 0U);
}

}  // namespace
}  // namespace laredo::pg::testing
