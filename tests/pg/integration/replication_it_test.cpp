// Baseline and streaming through the real engine into the indexed in-memory target.
#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;
using laredo::testing::RecordingTarget;

// Drives one source and one target per table through a real engine.
struct Replica {
  explicit Replica(SourceOptions options) : source(std::make_shared<Source>(std::move(options))) {
    engine.AddSource("pg", source);
  }
  std::shared_ptr<memory::IndexedTarget> Add(const TableIdentifier& table) {
    auto target = std::make_shared<memory::IndexedTarget>();
    engine.AddPipeline("pg", table, target);
    return target;
  }
  StreamPosition Acked() const {
    auto p = engine.LastAckedPosition("pg");
    return p.has_value() ? std::any_cast<StreamPosition>(p) : StreamPosition{};
  }
  std::shared_ptr<Source> source;
  Engine engine{FastOptions()};
};

constexpr const char* kAllTypes =
    " (id bigint PRIMARY KEY, b bool, i2 smallint, i4 int, i8 bigint, f4 real, f8 float8,"
    "  n numeric(20,5), n_nan numeric, t text, vc varchar(10), bp char(4), by bytea, u uuid,"
    "  j json, jb jsonb, d date, tm time, ts timestamp, tstz timestamptz, arr int[], iv interval,"
    "  nm name, d_inf date, ts_inf timestamptz)";

std::string AllTypesValues(int id) {
  return "(" + std::to_string(id) +
         ", true, -32768, 2147483647, -9223372036854775808, 1.17549e-38, 0.1, "
         "123456789012345.12345,"
         " 'NaN', E'tab\\there\\nnewline \\\\ back', 'abc', 'ab', '\\x00ff10'::bytea,"
         " 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"a\": [1, 2]}', '{\"b\": {\"c\": null}}',"
         " '2024-02-29', '23:59:59.999999', '1999-12-31 23:59:59.5', '2024-05-01 "
         "12:00:00.000001+02',"
         " '{1,NULL,3}', '1 year 2 mons 3 days 04:05:06', 'nm', 'infinity', '-infinity')";
}

Row WithoutId(Row row) {
  row.erase("id");
  return row;
}

TEST_F(PgTest, BaselineThenStreamOfEveryTypeMatchesTheTable) {
  Exec("CREATE TABLE " + Q("all_types") + kAllTypes);
  Exec("INSERT INTO " + Q("all_types") + " VALUES " + AllTypesValues(1));
  Exec("INSERT INTO " + Q("all_types") + " (id) VALUES (2)");  // every other column NULL
  Replica r(Options());
  auto target = r.Add(T("all_types"));
  r.engine.Start();
  ASSERT_TRUE(r.engine.AwaitReady(30s));
  ASSERT_TRUE(Converged(*target, "all_types"));

  // The same row through the stream compares equal to the one from the baseline.
  Exec("INSERT INTO " + Q("all_types") + " VALUES " + AllTypesValues(11));
  Exec("INSERT INTO " + Q("all_types") + " (id) VALUES (12)");
  ASSERT_TRUE(Converged(*target, "all_types"));
  EXPECT_EQ(WithoutId(*target->Get({Value(1)})), WithoutId(*target->Get({Value(11)})));
  EXPECT_EQ(WithoutId(*target->Get({Value(2)})), WithoutId(*target->Get({Value(12)})));
  const Row row = *target->Get({Value(1)});
  EXPECT_EQ(row.at("n"), Value::Numeric("123456789012345.12345"));
  EXPECT_EQ(row.at("by"), Value::Bytes(std::string("\x00\xff\x10", 3)));
  EXPECT_EQ(row.at("u"), Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  EXPECT_EQ(row.at("t"), Value("tab\there\nnewline \\ back"));
  EXPECT_EQ(row.at("tstz"), Value::TimestampTz(1714557600000001));
  EXPECT_EQ(row.at("arr"), Value("{1,NULL,3}"));

  Exec("UPDATE " + Q("all_types") + " SET t = 'changed', f8 = -0.5, jb = '[1]' WHERE id = 1");
  Exec("UPDATE " + Q("all_types") + " SET id = 3 WHERE id = 2");  // key change moves the row
  Exec("DELETE FROM " + Q("all_types") + " WHERE id = 12");
  ASSERT_TRUE(Converged(*target, "all_types"));

  Exec("TRUNCATE " + Q("all_types"));
  ASSERT_TRUE(Eventually([&] { return target->Count() == 0; }));
  Exec("INSERT INTO " + Q("all_types") + " VALUES " + AllTypesValues(5));
  ASSERT_TRUE(Converged(*target, "all_types"));
  r.engine.Stop();
}

TEST_F(PgTest, DomainsMapLikeTheirBaseTypesInBaselineAndStream) {
  Exec("CREATE DOMAIN " + name_ + ".big_id AS bigint");
  Exec("CREATE DOMAIN " + name_ + ".positive AS int CHECK (VALUE > 0)");
  Exec("CREATE DOMAIN " + name_ + ".small_positive AS " + name_ + ".positive CHECK (VALUE < 100)");
  Exec("CREATE DOMAIN " + name_ + ".day AS date");
  Exec("CREATE TABLE " + Q("d") + " (id " + name_ + ".big_id PRIMARY KEY, p " + name_ +
       ".positive, s " + name_ + ".small_positive, dd " + name_ + ".day)");
  Exec("INSERT INTO " + Q("d") + " VALUES (1, 5, 7, '2024-02-29')");
  Replica r(Options());
  auto target = r.Add(T("d"));
  r.engine.Start();
  ASSERT_TRUE(r.engine.AwaitReady(30s));
  Exec("INSERT INTO " + Q("d") + " VALUES (2, 6, 8, '2024-03-01')");
  ASSERT_TRUE(Converged(*target, "d"));
  for (const std::int64_t id : {1, 2}) {        // baseline row, streamed row
    const auto row = target->Get({Value(id)});  // a domain over bigint is an Int key
    ASSERT_TRUE(row.has_value()) << id;
    EXPECT_EQ(row->at("p").kind(), Value::Kind::Int);
    EXPECT_EQ(row->at("s").kind(), Value::Kind::Int);  // a domain over a domain
    EXPECT_EQ(row->at("dd").kind(), Value::Kind::Date);
  }
  r.engine.Stop();
}

TEST_F(PgTest, TimestampsAtPostgresLimitsAndInfinityPassBaselineAndStream) {
  Exec("CREATE TABLE " + Q("ts") + " (id int PRIMARY KEY, ts timestamp, tstz timestamptz, d date)");
  const std::string rows =
      " VALUES ({0}, '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00', "
      "'5874897-12-31'), ({1}, '4713-11-24 00:00:00 BC', '4713-11-24 00:00:00+00 BC', "
      "'4713-11-24 BC'), ({2}, 'infinity', '-infinity', 'infinity'), "
      "({3}, '1500-01-01 00:00:00', '2300-01-01 00:00:00+00', '1000-01-01')";
  Exec("INSERT INTO " + Q("ts") +
       fmt::format(fmt::runtime(rows), 1, 2, 3, 4));  // beyond nanosecond clocks
  Replica r(Options());
  auto target = r.Add(T("ts"));
  r.engine.Start();
  ASSERT_TRUE(r.engine.AwaitReady(30s));
  Exec("INSERT INTO " + Q("ts") + fmt::format(fmt::runtime(rows), 11, 12, 13, 14));
  ASSERT_TRUE(Converged(*target, "ts"));
  for (int id = 1; id <= 4; ++id) {
    EXPECT_EQ(WithoutId(*target->Get({Value(id)})), WithoutId(*target->Get({Value(id + 10)})));
  }
  EXPECT_EQ(target->Get({Value(3)})->at("ts").ToString(), "infinity");
  r.engine.Stop();
}

TEST_F(PgTest, TransactionOverTwoTablesIsAckedAtItsCommitEnd) {
  Exec("CREATE TABLE " + Q("a") + " (id int PRIMARY KEY, v text)");
  Exec("CREATE TABLE " + Q("b") + " (id int PRIMARY KEY, v text)");
  Replica r(Options());
  auto ta = r.Add(T("a"));
  auto tb = r.Add(T("b"));
  r.engine.Start();
  ASSERT_TRUE(r.engine.AwaitReady(30s));
  const Lsn before = CurrentLsn();
  Exec("BEGIN");
  Exec("INSERT INTO " + Q("a") + " VALUES (1, 'a1')");
  Exec("INSERT INTO " + Q("b") + " VALUES (1, 'b1'), (2, 'b2')");
  Exec("UPDATE " + Q("a") + " SET v = 'a1x' WHERE id = 1");
  Exec("COMMIT");
  const Lsn after = CurrentLsn();
  ASSERT_TRUE(Converged(*ta, "a"));
  ASSERT_TRUE(Converged(*tb, "b"));
  // The ACK reaches the transaction's last change, whose ack_lsn is the commit end.
  ASSERT_TRUE(Eventually([&] { return r.Acked().index == 4; }));
  const auto acked = r.Acked();
  EXPECT_GT(acked.commit_lsn, before);
  EXPECT_GT(acked.ack_lsn, acked.commit_lsn);
  EXPECT_LE(acked.ack_lsn, after);
  ASSERT_TRUE(Eventually([&] { return ConfirmedFlush() >= acked.ack_lsn; }));
  r.engine.Stop();
}

TEST_F(PgTest, UnchangedToastValueIsKept) {
  Exec("CREATE TABLE " + Q("docs") + " (id int PRIMARY KEY, body text, n int)");
  Replica r(Options());
  auto target = r.Add(T("docs"));
  r.engine.Start();
  ASSERT_TRUE(r.engine.AwaitReady(30s));
  Exec("INSERT INTO " + Q("docs") +
       " SELECT 1, string_agg(md5(i::text), ''), 0 FROM generate_series(1, 32768) i");  // 1 MiB
  ASSERT_TRUE(Converged(*target, "docs"));
  Exec("UPDATE " + Q("docs") + " SET n = 1 WHERE id = 1");  // body arrives as unchanged TOAST
  ASSERT_TRUE(Eventually([&] {
    auto row = target->Get({Value(1)});
    return row && row->at("n") == Value(1);
  }));
  const auto row = *target->Get({Value(1)});
  EXPECT_EQ(row.at("body").AsText().size(), 32768U * 32U);
  EXPECT_EQ(Index(target->All()), ReadTable("docs"));
  r.engine.Stop();
}

TEST_F(PgTest, ReplicaIdentityFullDeliversOldRows) {
  Exec("CREATE TABLE " + Q("full_rows") + " (id int PRIMARY KEY, v text, w int)");
  Exec("ALTER TABLE " + Q("full_rows") + " REPLICA IDENTITY FULL");
  Exec("CREATE TABLE " + Q("key_rows") + " (id int PRIMARY KEY, v text)");
  Exec("INSERT INTO " + Q("full_rows") + " VALUES (1, 'old', 7)");
  Exec("INSERT INTO " + Q("key_rows") + " VALUES (1, 'old')");
  auto full = std::make_shared<RecordingTarget>();
  auto keyed = std::make_shared<RecordingTarget>();
  Replica r(Options());
  r.engine.AddPipeline("pg", T("full_rows"), full);
  r.engine.AddPipeline("pg", T("key_rows"), keyed);
  r.engine.Start();
  ASSERT_TRUE(r.engine.AwaitReady(30s));
  Exec("UPDATE " + Q("full_rows") + " SET v = 'new' WHERE id = 1");
  Exec("DELETE FROM " + Q("full_rows") + " WHERE id = 1");
  Exec("UPDATE " + Q("key_rows") + " SET v = 'new' WHERE id = 1");
  Exec("DELETE FROM " + Q("key_rows") + " WHERE id = 1");
  ASSERT_TRUE(full->AwaitApplied(3, 30s));  // baseline row, update, delete
  ASSERT_TRUE(keyed->AwaitApplied(3, 30s));
  const Row old_full{{"id", 1}, {"v", "old"}, {"w", 7}};
  const Row new_full{{"id", 1}, {"v", "new"}, {"w", 7}};
  std::vector<RecordingTarget::Call> calls = full->Calls();
  std::erase_if(calls, [](const auto& c) { return c.op != "update" && c.op != "delete"; });
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].identity, old_full);
  EXPECT_EQ(calls[0].row, new_full);
  EXPECT_EQ(calls[1].identity, new_full);
  calls = keyed->Calls();
  std::erase_if(calls, [](const auto& c) { return c.op != "update" && c.op != "delete"; });
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].identity, (Row{{"id", 1}}));
  EXPECT_EQ(calls[1].identity, (Row{{"id", 1}}));
  r.engine.Stop();
}

TEST_F(PgTest, ParallelBaselineOfSeveralTables) {
  for (int i = 0; i < 4; ++i) {
    const auto t = "p" + std::to_string(i);
    Exec("CREATE TABLE " + Q(t) + " (id int PRIMARY KEY, v text)");
    Exec("INSERT INTO " + Q(t) + " SELECT g, 'row ' || g FROM generate_series(1, 5000) g");
  }
  auto options = Options(SlotMode::Ephemeral);
  options.baseline_parallelism = 3;
  Replica r(options);
  std::vector<std::shared_ptr<memory::IndexedTarget>> targets;
  for (int i = 0; i < 4; ++i) targets.push_back(r.Add(T("p" + std::to_string(i))));
  r.engine.Start();
  ASSERT_TRUE(r.engine.AwaitReady(30s));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(targets[static_cast<std::size_t>(i)]->Count(), 5000U);
    Exec("UPDATE " + Q("p" + std::to_string(i)) + " SET v = 'x' WHERE id = 7");
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(Converged(*targets[static_cast<std::size_t>(i)], "p" + std::to_string(i)));
  }
  r.engine.Stop();
}

TEST_F(PgTest, AParallelBaselineWhoseRowSinkThrowsStopsItsWorkersAndFails) {
  // More rows than the hand-off holds (16 batches of 1024) per table, so the copying workers are
  // blocked on a full queue when the consumer leaves: they must wake and stop, not deadlock.
  for (int i = 0; i < 2; ++i) {
    const auto t = "q" + std::to_string(i);
    Exec("CREATE TABLE " + Q(t) + " (id int PRIMARY KEY, v text)");
    Exec("INSERT INTO " + Q(t) + " SELECT g, 'row ' || g FROM generate_series(1, 40000) g");
  }
  auto options = Options(SlotMode::Ephemeral);
  options.baseline_parallelism = 2;
  Source source(options);
  const std::vector<TableIdentifier> tables{T("q0"), T("q1")};
  source.Init(SourceConfig{.tables = tables, .options = {}});
  int seen = 0;
  EXPECT_THROW(source.Baseline(std::stop_token(), tables,
                               [&](const TableIdentifier&, Row) {
                                 if (++seen == 10) throw std::runtime_error("target gave up");
                               }),
               std::runtime_error);
  EXPECT_EQ(seen, 10);
  // The source is usable again: a second baseline reads every row.
  std::size_t rows = 0;
  source.Baseline(std::stop_token(), tables, [&](const TableIdentifier&, Row) { ++rows; });
  EXPECT_EQ(rows, 80000U);
  source.Close();
}

// A table with live and dead tuples spread over its blocks (every third row updated, every
// seventh deleted),
// 825 blocks of 8 kB: 104 ranges of baseline_chunk_bytes = 64 kB (8 blocks).
void CreateBigTable(PgTest& t, const std::string& table) {
  t.Exec("CREATE TABLE " + t.Q(table) + " (id int PRIMARY KEY, v text)");
  t.Exec("INSERT INTO " + t.Q(table) +
         " SELECT g, 'row ' || g || repeat('.', 40) FROM generate_series(1, 60000) g");
  t.Exec("UPDATE " + t.Q(table) + " SET v = v || '!' WHERE id % 3 = 0");
  t.Exec("DELETE FROM " + t.Q(table) + " WHERE id % 7 = 0");
}

// Sequential scans of `table` so far, once the backends that scanned it flushed their counts
// (at exit at the latest); TID range scans do not count.
std::int64_t SeqScans(PgTest& t, const std::string& table) {
  // This connection's own scans (creating the table) wait in its pending statistics for up to a
  // second; flushed now, they cannot land between the two counts (PostgreSQL 15).
  t.Exec("SELECT pg_stat_force_next_flush()");
  t.Exec("SELECT pg_stat_clear_snapshot()");
  return std::stoll(t.Scalar("SELECT seq_scan FROM pg_stat_user_tables WHERE relid = '" +
                             t.Q(table) + "'::regclass"));
}

bool BaselineConnectionsGone(PgTest& t) {
  return t.Scalar(
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'laredo "
             "baseline'") == "0";
}

TEST_F(PgTest, OneLargeTableIsCopiedInBlockRangesOnSeveralConnectionsEveryRowOnce) {
  CreateBigTable(*this, "big");
  auto options = Options(SlotMode::Ephemeral);
  options.baseline_parallelism = 3;
  options.baseline_chunk_bytes = 64 * 1024;
  Source source(options);
  const std::vector<TableIdentifier> tables{T("big")};
  source.Init(SourceConfig{.tables = tables, .options = {}});
  const auto scans_before = SeqScans(*this, "big");
  std::map<std::string, Row> rows;
  std::size_t delivered = 0;
  source.Baseline(std::stop_token(), tables, [&](const TableIdentifier&, Row row) {
    ++delivered;
    rows.insert_or_assign(row.at("id").ToString(), std::move(row));
  });
  source.Close();
  ASSERT_TRUE(Eventually([&] { return BaselineConnectionsGone(*this); }, 30s));
  // Ranges, not the plain COPY: no sequential scan of the table.
  EXPECT_EQ(SeqScans(*this, "big"), scans_before);
  EXPECT_EQ(delivered, rows.size()) << "a row was delivered twice";
  EXPECT_EQ(rows, ReadTable("big"));
}

TEST_F(PgTest, ABaselineInBlockRangesWhileAWriterChangesTheTableConverges) {
  CreateBigTable(*this, "big");
  auto options = Options(SlotMode::Ephemeral);
  options.baseline_parallelism = 2;
  options.baseline_chunk_bytes = 64 * 1024;
  Replica r(options);
  auto target = r.Add(T("big"));
  std::atomic<bool> stop_writer{false};
  std::jthread writer([&] {
    auto conn = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test writer");
    for (int i = 0; !stop_writer.load(); ++i) {
      // Updates move rows to other blocks (ranges already copied or not yet), inserts add blocks
      // at the end, deletes leave holes.
      conn.Exec(fmt::format("UPDATE {} SET v = 'moved {}' WHERE id = {}", Q("big"), i,
                            1 + (i * 7919) % 60000),
                "update");
      conn.Exec(fmt::format("INSERT INTO {} VALUES ({}, 'new')", Q("big"), 100000 + i), "insert");
      conn.Exec(fmt::format("DELETE FROM {} WHERE id = {}", Q("big"), 1 + (i * 104729) % 60000),
                "delete");
    }
  });
  r.engine.Start();
  ASSERT_TRUE(r.engine.AwaitReady(60s));
  stop_writer = true;
  writer.join();
  EXPECT_TRUE(Converged(*target, "big"));
  r.engine.Stop();
}

TEST_F(PgTest, WithOneConnectionALargeTableIsOnePlainCopy) {
  CreateBigTable(*this, "big");
  auto options = Options(SlotMode::Ephemeral);
  options.baseline_chunk_bytes = 64 * 1024;  // parallelism 1: no ranges
  Source source(options);
  const std::vector<TableIdentifier> tables{T("big")};
  source.Init(SourceConfig{.tables = tables, .options = {}});
  const auto scans_before = SeqScans(*this, "big");
  std::size_t rows = 0;
  source.Baseline(std::stop_token(), tables, [&](const TableIdentifier&, Row) { ++rows; });
  source.Close();
  // The positive control of the range test's scan count.
  EXPECT_TRUE(Eventually([&] { return SeqScans(*this, "big") == scans_before + 1; }, 30s));
  EXPECT_EQ(std::to_string(rows), Scalar("SELECT count(*) FROM " + Q("big")));
}

}  // namespace
}  // namespace laredo::pg::testing
