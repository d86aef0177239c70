// End to end with real PostgreSQL: pg::Source -> the engine -> Publisher (kinesalite + s3rver) ->
// a kinesis::Source consumer that starts from the publisher's re-snapshot converges, column by
// column, to the table in PostgreSQL across inserts, updates leaving a TOASTed column unchanged,
// key changes, deletes and a truncate.
#include <libpq-fe.h>

#include "aws_env.hpp"
#include "laredo/engine.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/pg/source.hpp"

namespace laredo::kinesis::it {
namespace {

using namespace std::chrono_literals;

class PgPublisherIt : public AwsTest {
 protected:
  void SetUp() override {
    const char* conninfo = std::getenv("LAREDO_PG_CONNINFO");  // NOLINT(concurrency-mt-unsafe)
    if (conninfo == nullptr || *conninfo == '\0') {
      if (UnderCi()) FAIL() << "CI=true but LAREDO_PG_CONNINFO is not set";
      GTEST_SKIP() << "LAREDO_PG_CONNINFO is not set: start tests/pg/pg_server.sh";
    }
    AwsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    conninfo_ = conninfo;
    pg_ = PQconnectdb(conninfo_.c_str());
    ASSERT_EQ(PQstatus(pg_), CONNECTION_OK) << PQerrorMessage(pg_);
    schema_ = "lr_kpub_" + std::to_string(::getpid());
    Exec("SET client_min_messages = warning");
    Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    Exec("CREATE SCHEMA " + schema_);
    Exec("CREATE TABLE " + schema_ + ".t (id bigint PRIMARY KEY, name text, big text)");
    // `big` is stored out of line (TOAST, uncompressed): updates that leave it alone send it as
    // unchanged, and the publisher must fill it from its state.
    Exec("ALTER TABLE " + schema_ + ".t ALTER big SET STORAGE EXTERNAL");
    Exec("INSERT INTO " + schema_ +
         ".t SELECT g, 'n' || g, repeat(md5(g::text), 200) FROM generate_series(1, 200) g");
  }
  void TearDown() override {
    if (pg_ != nullptr) {
      Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
      PQfinish(pg_);
    }
    AwsTest::TearDown();
  }
  void Exec(const std::string& sql) {
    PGresult* r = PQexec(pg_, sql.c_str());
    const auto status = PQresultStatus(r);
    EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        << sql << ": " << PQerrorMessage(pg_);
    PQclear(r);
  }
  std::vector<std::array<std::string, 3>> Rows() {
    PGresult* r = PQexec(pg_, ("SELECT id, name, big FROM " + schema_ + ".t ORDER BY id").c_str());
    std::vector<std::array<std::string, 3>> rows;
    rows.reserve(static_cast<std::size_t>(PQntuples(r)));
    for (int i = 0; i < PQntuples(r); ++i) {
      rows.push_back({PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)});
    }
    PQclear(r);
    return rows;
  }
  std::string conninfo_;
  PGconn* pg_ = nullptr;
  std::string schema_;
};

TEST_F(PgPublisherIt, AConsumerOfTheReSnapshotEqualsPostgres) {
  CreateStream(1);  // one shard: the truncate orders with every key
  const TableIdentifier table = Table(schema_, "t");
  PublisherOptions options;
  options.stream_name = stream_;
  options.region = env_.region;
  options.endpoint = env_.kinesis_endpoint;
  options.snapshots.bucket = bucket_;
  options.snapshots.prefix = "snap";
  options.snapshots.endpoint = env_.s3_endpoint;
  options.snapshots.tables = {table};
  auto publisher = std::make_shared<Publisher>(options);
  EngineOptions engine_options;
  engine_options.ack_interval = 20ms;
  Engine engine(engine_options);
  engine.AddSource("pg", std::make_shared<pg::Source>(pg::SourceOptions{.conninfo = conninfo_}));
  engine.AddPipeline("pg", table, publisher);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(60s)) << engine.SourceError("pg").value_or("");
  ASSERT_TRUE(laredo::testing::Eventually(
      [&] { return publisher->GetStats().snapshots_written >= 1; }, 30s));

  const std::string t = schema_ + ".t";
  Exec("UPDATE " + t + " SET name = 'renamed ' || id WHERE id <= 50");  // big unchanged
  Exec("UPDATE " + t + " SET id = id + 1000 WHERE id BETWEEN 51 AND 60");
  Exec("DELETE FROM " + t + " WHERE id > 180 AND id < 1000");
  Exec("INSERT INTO " + t + " VALUES (5000, 'new', 'small')");
  // Every change is on the stream: 50 updates, 10 key changes (one update each: `big` comes
  // unchanged, so not a delete and an insert), 20 deletes, 1 insert. (A position after the last
  // change is only reached with the server's next keepalive, which may take longer than a test
  // should wait.)
  const auto written = [&](std::uint64_t n) {
    return laredo::testing::Eventually(
        [&] { return publisher->GetStats().records_written >= n && publisher->IsDurable(); }, 30s);
  };
  ASSERT_TRUE(written(81)) << publisher->GetStats().records_written;
  const SnapshotReport second = publisher->SnapshotNow();
  ASSERT_TRUE(second.ok);
  // The re-snapshot holds what PostgreSQL held (nothing was written meanwhile), big included.
  {
    auto pinned = Options();
    pinned.prefix = "snap/" + second.snapshot_id;
    Source snapshot(pinned);
    snapshot.Init(SourceConfig{.tables = {table}});
    std::map<std::int64_t, Row> rows;
    snapshot.Baseline({}, {table}, [&](const TableIdentifier&, Row row) {
      rows[row.at("id").AsInt()] = std::move(row);
    });
    const auto at_snapshot = Rows();
    ASSERT_EQ(rows.size(), at_snapshot.size());
    for (const auto& [id, name, big] : at_snapshot) {
      const auto it = rows.find(std::stoll(id));
      ASSERT_NE(it, rows.end()) << id;
      EXPECT_EQ(it->second.at("name"), Value(name)) << id;
      EXPECT_EQ(it->second.at("big"), Value(big)) << "unchanged TOAST value of " << id;
    }
  }
  Exec("UPDATE " + t + " SET name = 'again' WHERE id <= 10");
  Exec("TRUNCATE " + t);
  Exec("INSERT INTO " + t +
       " SELECT g, 'after ' || g, repeat(md5(g::text), 100) FROM generate_series(1, 30) g");
  Exec("UPDATE " + t + " SET name = 'last' WHERE id <= 5");
  // 10 updates, the truncate, 30 inserts, 5 updates.
  ASSERT_TRUE(written(81 + 46)) << publisher->GetStats().records_written;

  Engine consumer;
  auto target = std::make_shared<memory::IndexedTarget>();
  consumer.AddSource("kinesis", std::make_shared<Source>(Options()));
  consumer.AddPipeline("kinesis", table, target);
  consumer.Start();
  const auto expected = Rows();
  ASSERT_EQ(expected.size(), 30U);
  const auto same = [&] {
    if (target->Count() != expected.size()) return false;
    for (const auto& [id, name, big] : expected) {
      const auto row = target->Get({Value(std::stoll(id))});
      if (!row || row->at("name") != Value(name) || row->at("big") != Value(big)) return false;
    }
    return true;
  };
  EXPECT_TRUE(laredo::testing::Eventually(same, 30s))
      << consumer.SourceError("kinesis").value_or("") << " consumer has " << target->Count();
  EXPECT_EQ(publisher->GetStats().state_anomalies, 0U);
  consumer.Stop();
  engine.Stop();
}

}  // namespace
}  // namespace laredo::kinesis::it
