#pragma once

// Shared helpers of the pg-integration tests: a connection to the server that
// tests/pg/pg_server.sh started (LAREDO_PG_CONNINFO), per-test names so that tests run in
// parallel, and reading a table the way the source maps it.

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/test_util.hpp"
#include "laredo/laredo.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/pg/source.hpp"
#include "pg_connection.hpp"
#include "type_mapping.hpp"

namespace laredo::pg::testing {

using namespace std::chrono_literals;
using laredo::testing::Eventually;

/// An engine with a recording observer and one pg source (id "pg"), not started yet.
struct Harness {
  /// `source_max_retries`: how many failed attempts in a row the engine allows the source (a
  /// restarting server refuses connections for a while; the fast options retry every few ms).
  explicit Harness(SourceOptions options, int source_max_retries = 5)
      : observer(std::make_shared<laredo::testing::RecordingObserver>()),
        source(std::make_shared<Source>(std::move(options))),
        engine(WithRetries(laredo::testing::FastOptions(observer), source_max_retries)) {
    engine.AddSource("pg", source);
  }
  static EngineOptions WithRetries(EngineOptions options, int retries) {
    options.source_max_retries = retries;
    return options;
  }
  std::shared_ptr<laredo::testing::RecordingObserver> observer;
  std::shared_ptr<Source> source;
  Engine engine;
};

/// Per test: a schema, a slot and a publication named after the test; dropped before and after.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = std::getenv("LAREDO_PG_CONNINFO");
    if (env == nullptr || *env == '\0') {
      const char* ci = std::getenv("CI");
      if (ci != nullptr && std::string(ci) == "true") {
        FAIL() << "LAREDO_PG_CONNINFO is not set (run tests/pg/pg_server.sh start DIR first)";
      }
      GTEST_SKIP() << "LAREDO_PG_CONNINFO is not set; start a server with tests/pg/pg_server.sh";
    }
    conninfo_ = env;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("lr_") + info->name();
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    name_ = name.substr(0, 50);
    admin_ = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test");
    Exec("SET client_min_messages = warning");
    Cleanup();
    Exec("CREATE SCHEMA " + name_);
  }

  void TearDown() override {
    if (admin_.is_open()) Cleanup();
  }

  // Helpers are public so that shared test bodies (free functions) can use them.
 public:
  void Cleanup() {
    // A walsender of an earlier run may still hold the slot for a moment.
    Eventually([&] {
      return Query("SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + name_ +
                   "' AND active")
          .empty();
    });
    Exec(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
        name_ + "'");
    Exec("DROP PUBLICATION IF EXISTS " + name_);
    Exec("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  }

  void Exec(const std::string& sql) { admin_.Exec(sql, "test statement"); }

  using Rows = std::vector<std::vector<std::optional<std::string>>>;
  Rows Query(const std::string& sql) {
    auto r = admin_.Exec(sql, "test query");
    Rows rows;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      auto& row = rows.emplace_back();
      for (int j = 0; j < PQnfields(r.get()); ++j) row.push_back(GetValue(r.get(), i, j));
    }
    return rows;
  }
  std::string Scalar(const std::string& sql) {
    auto rows = Query(sql);
    return rows.empty() || rows[0].empty() ? std::string() : rows[0][0].value_or("");
  }
  /// The insert position: past every record committed so far (pg_current_wal_lsn() is only
  /// what was written out, which lags with synchronous_commit = off).
  Lsn CurrentLsn() { return Lsn::Parse(Scalar("SELECT pg_current_wal_insert_lsn()")); }
  std::optional<Lsn> ConfirmedFlush() {
    auto v = Scalar("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '" +
                    name_ + "'");
    if (v.empty()) return std::nullopt;
    return Lsn::Parse(v);
  }
  /// The pid of the walsender streaming from this test's slot, once there is one.
  std::string AwaitWalsenderPid() {
    std::string pid;
    Eventually(
        [&] {
          pid = Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + name_ +
                       "' AND active");
          return !pid.empty();
        },
        30s);
    return pid;
  }
  /// Terminates the walsender of this test's slot; false when none is active.
  bool KillWalsender() {
    return Scalar(
               "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
               "WHERE slot_name = '" +
               name_ + "' AND active") == "t";
  }

  /// The test server's connection string with a session setting for the walsender (e.g.
  /// "wal_sender_timeout=1000"), in either connection-string form.
  std::string ConninfoWithSetting(const std::string& setting) const {
    if (conninfo_.find("://") != std::string::npos) {
      std::string encoded = "-c%20" + setting;
      if (const auto eq = encoded.find('='); eq != std::string::npos) encoded.replace(eq, 1, "%3D");
      return conninfo_ + (conninfo_.find('?') == std::string::npos ? "?" : "&") +
             "options=" + encoded;
    }
    return conninfo_ + " options='-c " + setting + "'";
  }

  TableIdentifier T(const std::string& table) const { return Table(name_, table); }

  /// Replicates `table` into a new indexed target through `engine` (source id "pg"), started.
  std::shared_ptr<memory::IndexedTarget> StartReplica(Engine& engine, const std::string& table,
                                                      SourceOptions options) {
    engine.AddSource("pg", std::make_shared<Source>(std::move(options)));
    auto target = std::make_shared<memory::IndexedTarget>();
    engine.AddPipeline("pg", T(table), target);
    engine.Start();
    return target;
  }
  std::string Q(const std::string& table) const { return name_ + "." + table; }

  /// Every row of `table` as the source maps it (same type mapping), keyed by the text of `key`.
  std::map<std::string, Row> ReadTable(const std::string& table, const std::string& key = "id",
                                       const std::string& select = "*",
                                       const std::string& where = "true") {
    auto r = admin_.Exec("SELECT " + select + " FROM " + Q(table) + " WHERE " + where,
                         "reading the table");
    std::vector<std::string> names;
    for (int j = 0; j < PQnfields(r.get()); ++j) names.emplace_back(PQfname(r.get(), j));
    auto shared = ColumnNames::Make(names);
    std::map<std::string, Row> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      std::vector<Value> values;
      for (int j = 0; j < PQnfields(r.get()); ++j) {
        auto v = GetValue(r.get(), i, j);
        values.push_back(v ? TextToValue(PQftype(r.get(), j), *v) : Value());
      }
      Row row(shared, std::move(values));
      out.emplace(row.at(key).ToString(), std::move(row));
    }
    return out;
  }
  static std::map<std::string, Row> Index(const std::vector<Row>& rows,
                                          const std::string& key = "id") {
    std::map<std::string, Row> out;
    for (const auto& r : rows) out.emplace(r.at(key).ToString(), r);
    return out;
  }
  /// True once the target holds exactly the table's rows; else a failure that names the first
  /// rows that differ.
  ::testing::AssertionResult Converged(const memory::IndexedTarget& target,
                                       const std::string& table) {
    if (Eventually([&] { return Index(target.All()) == ReadTable(table); }, 30s)) {
      return ::testing::AssertionSuccess();
    }
    const auto have = Index(target.All());
    const auto want = ReadTable(table);
    auto failure = ::testing::AssertionFailure();
    failure << table << ": the target holds " << have.size() << " rows, the table " << want.size();
    int shown = 0;
    for (const auto& [key, row] : want) {
      const auto it = have.find(key);
      if (it != have.end() && it->second == row) continue;
      if (++shown > 5) break;
      failure << "; id " << key << (it == have.end() ? " missing" : " differs");
      const auto v = [](const Row& r) {
        try {
          return r.at("v").ToString();
        } catch (const std::exception&) {
          return std::string("?");
        }
      };
      if (it != have.end()) failure << " (v " << v(it->second) << " instead of " << v(row) << ")";
    }
    for (const auto& [key, row] : have) {
      if (want.contains(key)) continue;
      if (++shown > 10) break;
      failure << "; id " << key << " extra";
    }
    return failure;
  }

  SourceOptions Options(SlotMode mode = SlotMode::Stateful) const {
    return SourceOptions{
        .conninfo = conninfo_,
        .slot_mode = mode,
        .slot_name = name_,
        .publication_name = name_,
        .reconnect = {.backoff = {.initial = 20ms, .max = 200ms, .multiplier = 2.0}},
        .status_interval = 100ms};
  }

  std::string conninfo_;
  std::string name_;
  PgConnection admin_;
};

/// A PgTest whose schema, slot and publication live in a database of their own (named after the
/// test), created in SetUp and dropped in TearDown; `server_conninfo_` reaches the server's
/// default database.
class PgOwnDatabaseTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    server_conninfo_ = conninfo_;
    Exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    Exec("CREATE DATABASE " + name_);
    // A later keyword (or URI parameter) overrides the database named before it.
    conninfo_ +=
        conninfo_.find("://") == std::string::npos
            ? " dbname=" + name_
            : std::string(conninfo_.find('?') == std::string::npos ? "?" : "&") + "dbname=" + name_;
    admin_ = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test");
    Exec("SET client_min_messages = warning");
    Exec("CREATE SCHEMA " + name_);
  }
  void TearDown() override {
    if (server_conninfo_.empty()) return;
    Cleanup();  // the slot, in this database
    admin_ = PgConnection::Connect(server_conninfo_, ConnectionKind::Normal, "laredo test");
    Exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    conninfo_ = server_conninfo_;
    PgTest::TearDown();
  }
  std::string server_conninfo_;
};

}  // namespace laredo::pg::testing
