#pragma once

// What the end-to-end tests share: a real PostgreSQL table (id bigint primary key, name text,
// v bigint, big text stored out of line), the publisher program run as a child process on a
// stateful slot of it, `kinesis::Source` consumers into indexed targets, and the comparison of a
// consumer with `SELECT *`, field by field.
#include <libpq-fe.h>

#include <filesystem>
#include <map>

#include "aws_env.hpp"
#include "laredo/engine.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "publisher_process.hpp"

#ifndef LAREDO_PUBLISHER_PROGRAM
#error \
    "LAREDO_PUBLISHER_PROGRAM (the path of examples/publisher) is set by tests/kinesis/CMakeLists.txt"
#endif

namespace laredo::kinesis::it {

inline const std::vector<std::string> kE2eColumns = {"id", "name", "v", "big"};

/// Polls `condition` every `every` up to `timeout`: for conditions too costly to check every
/// millisecond (comparing 100,000 rows).
inline bool AwaitCondition(const std::function<bool()>& condition,
                           std::chrono::milliseconds timeout,
                           std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

class PgE2eTest : public AwsTest {
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
    static int counter = 0;
    const std::string suffix = std::to_string(::getpid()) + "_" + std::to_string(++counter);
    schema_ = "lr_e2e_" + suffix;
    slot_ = "lr_e2e_slot_" + suffix;
    table_ = schema_ + ".t";
    Exec("SET client_min_messages = warning");
    Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    Exec("CREATE SCHEMA " + schema_);
    Exec("CREATE TABLE " + table_ + " (id bigint PRIMARY KEY, name text, v bigint, big text)");
    // `big` is stored out of line (TOAST, uncompressed): an update that leaves it alone sends it
    // as unchanged, which the publisher fills from its state and the consumers keep.
    Exec("ALTER TABLE " + table_ + " ALTER big SET STORAGE EXTERNAL");
    log_path_ = (std::filesystem::temp_directory_path() / (slot_ + ".log")).string();
    std::filesystem::remove(log_path_);
    CreateStream(1);  // one shard: the truncate orders with every key
  }

  void TearDown() override {
    publisher_.reset();  // killed if still running
    if (!HasFailure() && !log_path_.empty())
      std::filesystem::remove(log_path_);  // kept when the test failed
    if (pg_ != nullptr) {
      // The walsender notices its client is gone soon after a kill; then the slot can go.
      AwaitCondition([&] { return !SlotActive(); }, std::chrono::seconds(20));
      Exec(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = "
          "'" +
          slot_ + "'");
      Exec("DROP PUBLICATION IF EXISTS " + slot_);
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

  std::string Scalar(const std::string& sql) {
    PGresult* r = PQexec(pg_, sql.c_str());
    std::string value;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetisnull(r, 0, 0) == 0) {
      value = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
    return value;
  }

  [[nodiscard]] bool SlotActive() {
    return Scalar("SELECT active FROM pg_replication_slots WHERE slot_name = '" + slot_ + "'") ==
           "t";
  }

  /// `SELECT *` as rows typed the way the contract reads these columns (bigint -> Int, text ->
  /// Text, NULL -> Null), by id.
  std::map<std::int64_t, Row> TableRows() {
    PGresult* r = PQexec(pg_, ("SELECT id, name, v, big FROM " + table_).c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(pg_);
    std::map<std::int64_t, Row> rows;
    for (int i = 0; i < PQntuples(r); ++i) {
      const auto text = [&](int c) {
        return PQgetisnull(r, i, c) != 0 ? Value() : Value(std::string(PQgetvalue(r, i, c)));
      };
      const auto number = [&](int c) {
        return PQgetisnull(r, i, c) != 0 ? Value() : Value(std::stoll(PQgetvalue(r, i, c)));
      };
      const std::int64_t id = std::stoll(PQgetvalue(r, i, 0));
      rows.emplace(id,
                   Row{{"id", Value(id)}, {"name", text(1)}, {"v", number(2)}, {"big", text(3)}});
    }
    PQclear(r);
    return rows;
  }

  /// Starts (or restarts: same slot, same stream, same prefix) the publisher program.
  void StartPublisher() {
    if (!publisher_) {
      publisher_ = std::make_unique<PublisherProcess>(
          LAREDO_PUBLISHER_PROGRAM,
          std::vector<std::string>{
              "LAREDO_PUB_CONNINFO=" + conninfo_, "LAREDO_PUB_TABLES=" + table_,
              "LAREDO_PUB_SLOT=" + slot_, "LAREDO_PUB_STREAM=" + stream_,
              "LAREDO_PUB_BUCKET=" + bucket_, "LAREDO_PUB_PREFIX=snap",
              "LAREDO_PUB_INTERVAL=" + std::to_string(snapshot_interval_s_),
              "LAREDO_PUB_KEEP=" + std::to_string(snapshot_keep_),
              "LAREDO_PUB_KINESIS_ENDPOINT=" + env_.kinesis_endpoint,
              "LAREDO_PUB_S3_ENDPOINT=" + env_.s3_endpoint, "AWS_REGION=" + env_.region},
          log_path_);
    }
    publisher_->Start();
  }

  /// The snapshot id of the top manifest (the one consumers load), "" while there is none.
  std::string NewestSnapshot() {
    try {
      return nlohmann::json::parse(s3_->GetObjectText(bucket_, "snap/manifest.json"))
          .at("snapshot_id");
    } catch (const std::exception&) {
      return "";
    }
  }

  /// A consumer engine: `kinesis::Source` (the newest snapshot, then the stream) -> an indexed
  /// target of the table.
  struct Consumer {
    std::string who;
    std::unique_ptr<Engine> engine;
    std::shared_ptr<memory::IndexedTarget> target;
  };
  Consumer StartConsumer(std::string who) {
    Consumer c{std::move(who), std::make_unique<Engine>(),
               std::make_shared<memory::IndexedTarget>()};
    c.engine->AddSource("kinesis", std::make_shared<Source>(Options()));
    c.engine->AddPipeline("kinesis", Table(schema_, "t"), c.target);
    c.engine->Start();
    return c;
  }

  [[nodiscard]] static bool Holds(const memory::IndexedTarget& target,
                                  const std::map<std::int64_t, Row>& expected) {
    if (target.Count() != expected.size()) return false;
    return std::all_of(expected.begin(), expected.end(), [&](const auto& entry) {
      const auto got = target.Get({Value(entry.first)});
      return got && *got == entry.second;
    });
  }

  /// Field by field, the first differences only (a broken run would print 100,000 lines).
  static void ExpectSame(const memory::IndexedTarget& target,
                         const std::map<std::int64_t, Row>& expected, const std::string& who) {
    EXPECT_EQ(target.Count(), expected.size()) << who;
    int reported = 0;
    for (const auto& [id, row] : expected) {
      if (reported >= 10) break;
      const auto got = target.Get({Value(id)});
      if (!got) {
        ADD_FAILURE() << who << " lacks id " << id;
        ++reported;
        continue;
      }
      for (const auto& column : kE2eColumns) {
        if (got->at(column) != row.at(column)) {
          ADD_FAILURE() << who << " id " << id << " " << column << ": "
                        << got->at(column).ToString().substr(0, 80) << " instead of "
                        << row.at(column).ToString().substr(0, 80);
          ++reported;
        }
      }
    }
  }

  std::string conninfo_;
  PGconn* pg_ = nullptr;
  std::string schema_;
  std::string slot_;
  std::string table_;
  std::string log_path_;
  int snapshot_interval_s_ = 3;
  int snapshot_keep_ = 2;
  std::unique_ptr<PublisherProcess> publisher_;
};

}  // namespace laredo::kinesis::it
