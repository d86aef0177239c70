// Schema discovery, validation and publication management against a real server.
#include <algorithm>
#include <set>

#include "laredo/pg/error.hpp"
#include "pg_harness.hpp"
#include "replication_connection.hpp"

namespace laredo::pg::testing {
namespace {

std::set<std::string> Codes(const std::vector<ValidationError>& errors) {
  std::set<std::string> codes;
  for (const auto& e : errors) codes.insert(e.code);
  return codes;
}

TEST_F(PgTest, DiscoversColumnsTypesNullabilityAndKeyOrder) {
  Exec("CREATE TABLE " + Q("orders") +
       " (region text NOT NULL, note varchar(20), amount numeric(10,2) DEFAULT 0,"
       "  id bigint NOT NULL, dropped int, created timestamptz, total int GENERATED ALWAYS AS (1) "
       "STORED,"
       "  PRIMARY KEY (id, region))");
  Exec("ALTER TABLE " + Q("orders") + " DROP COLUMN dropped");
  Source source(Options());
  auto columns = source.Init(SourceConfig{.tables = {T("orders"), T("missing")}});
  ASSERT_EQ(columns.size(), 1U);  // a missing table is absent, not an error
  const auto& c = columns.at(T("orders"));
  ASSERT_EQ(c.size(), 5U);  // dropped and generated columns are not replicated
  EXPECT_EQ(c[0].name, "region");
  EXPECT_EQ(c[0].type, "text");
  EXPECT_EQ(c[0].type_oid, 25U);
  EXPECT_FALSE(c[0].nullable);
  EXPECT_TRUE(c[0].primary_key);
  EXPECT_EQ(c[0].primary_key_ordinal, 2);
  EXPECT_EQ(c[1].name, "note");
  EXPECT_EQ(c[1].type, "character varying(20)");
  EXPECT_EQ(c[1].type_oid, 1043U);
  EXPECT_EQ(c[1].type_modifier, 24);  // 20 + VARHDRSZ
  EXPECT_TRUE(c[1].nullable);
  EXPECT_FALSE(c[1].primary_key);
  EXPECT_EQ(c[2].type, "numeric(10,2)");
  EXPECT_EQ(c[2].default_value, std::optional<std::string>("0"));
  EXPECT_EQ(c[3].name, "id");
  EXPECT_EQ(c[3].primary_key_ordinal, 1);
  EXPECT_EQ(c[3].ordinal_position, 4);
  EXPECT_EQ(c[4].name, "created");
  EXPECT_EQ(c[4].type, "timestamp with time zone");
  EXPECT_EQ(c[4].ordinal_position, 6);
}

TEST_F(PgTest, ValidationReportsEveryProblemAtOnce) {
  Exec("CREATE TABLE " + Q("good") + " (id int PRIMARY KEY)");
  Exec("CREATE TABLE " + Q("nokey") + " (id int)");
  Exec("CREATE TABLE " + Q("full_identity") + " (id int)");
  Exec("ALTER TABLE " + Q("full_identity") + " REPLICA IDENTITY FULL");
  Exec("CREATE TABLE " + Q("secret") + " (id int PRIMARY KEY)");
  const std::string role = name_ + "_role";
  Exec("DROP ROLE IF EXISTS " + role);
  Exec("CREATE ROLE " + role + " LOGIN PASSWORD 'pw_" + role + "' NOREPLICATION");
  Exec("GRANT USAGE ON SCHEMA " + name_ + " TO " + role);
  for (const auto* t : {"good", "nokey", "full_identity"}) {
    Exec("GRANT SELECT ON " + Q(t) + " TO " + role);
  }
  auto options = Options();
  options.conninfo = conninfo_ + " user=" + role + " password=pw_" + role;
  options.manage_publication = false;
  Source source(options);
  auto errors =
      source.ValidateTables({T("good"), T("nokey"), T("full_identity"), T("secret"), T("absent")});
  Exec("REVOKE ALL ON SCHEMA " + name_ + " FROM " + role);
  Exec("REVOKE ALL ON ALL TABLES IN SCHEMA " + name_ + " FROM " + role);
  Exec("DROP ROLE " + role);
  EXPECT_EQ(Codes(errors),
            (std::set<std::string>{"NO_REPLICATION_PRIVILEGE", "PUBLICATION_NOT_FOUND",
                                   "NO_PRIMARY_KEY", "NO_SELECT_PRIVILEGE", "TABLE_NOT_FOUND"}));
  for (const auto& e : errors) {
    if (e.code == "NO_PRIMARY_KEY") {
      EXPECT_EQ(e.table, T("nokey"));
    }
    if (e.code == "NO_SELECT_PRIVILEGE") {
      EXPECT_EQ(e.table, T("secret"));
    }
    if (e.code == "TABLE_NOT_FOUND") {
      EXPECT_EQ(e.table, T("absent"));
    }
    // No credentials in any message.
    EXPECT_EQ(e.message.find("pw_"), std::string::npos) << e.message;
  }
}

// Init fails at once with a ConfigError naming the SQLSTATE, without the password.
void ExpectInitRefused(const std::string& conninfo, const std::string& sqlstate,
                       const std::string& secret) {
  SourceOptions options{.conninfo = conninfo, .slot_name = "unused"};
  Source source(options);
  try {
    source.Init(SourceConfig{.tables = {Table("public", "x")}});
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("SQLSTATE " + sqlstate), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
    EXPECT_EQ(SqlState(e), sqlstate);  // public, not only in the text
  } catch (const std::exception& e) {
    FAIL() << "not a ConfigError: " << e.what();
  }
}

TEST_F(PgTest, ConfigurationErrorsAtConnectAreNotRetriedAndHideThePassword) {
  ExpectInitRefused(conninfo_ + " password=wrong_secret_42", "28P01", "wrong_secret_42");
  ExpectInitRefused(conninfo_ + " user=no_such_role_x password=wrong_secret_42", "28P01",
                    "wrong_secret_42");
  ExpectInitRefused(conninfo_ + " dbname=no_such_database_x", "3D000", "wrong_secret_42");
  const std::string role = name_.substr(0, 40) + "_r";
  Exec("DROP ROLE IF EXISTS " + role);
  Exec("CREATE ROLE " + role + " NOLOGIN PASSWORD 'pw_" + role + "'");
  ExpectInitRefused(conninfo_ + " user=" + role + " password=pw_" + role, "28000", "pw_");
  Exec("DROP ROLE " + role);
}

TEST_F(PgTest, EngineReportsAWrongPasswordWithoutRetrying) {
  auto options = Options();
  options.conninfo = conninfo_ + " password=wrong_secret_42";
  Harness h(options);
  h.engine.AddPipeline("pg", T("t"), std::make_shared<memory::IndexedTarget>());
  h.engine.Start();
  ASSERT_TRUE(Eventually([&] { return h.engine.SourceError("pg").has_value(); }, 10s));
  const auto error = *h.engine.SourceError("pg");
  EXPECT_NE(error.find("28P01"), std::string::npos) << error;
  EXPECT_EQ(error.find("wrong_secret_42"), std::string::npos) << error;
  EXPECT_EQ(SqlState(h.engine.SourceException("pg")), "28P01");
  for (const auto& e : h.observer->Errors()) EXPECT_FALSE(e.will_retry) << e.message;
  h.engine.Stop();
}

TEST_F(PgTest, StateIsConnectedThroughoutTheBaseline) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  Exec("INSERT INTO " + Q("t") + " VALUES (1), (2), (3)");
  Source source(Options());
  source.Init(SourceConfig{.tables = {T("t")}, .options = {}});
  EXPECT_EQ(source.State(), SourceState::Connected);
  ASSERT_TRUE(source.ValidateTables({T("t")}).empty());
  std::vector<SourceState> seen;
  source.Baseline(std::stop_token(), {T("t")},
                  [&](const TableIdentifier&, const Row&) { seen.push_back(source.State()); });
  EXPECT_EQ(seen, std::vector<SourceState>(3, SourceState::Connected));
  EXPECT_EQ(source.State(), SourceState::Connected);
  source.Close();
  EXPECT_EQ(source.State(), SourceState::Closed);
}

TEST_F(PgTest, BaselineRefusesASlotAnotherConsumerStreamsFrom) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  Source source(Options());
  source.Init(SourceConfig{.tables = {T("t")}, .options = {}});
  ASSERT_TRUE(source.ValidateTables({T("t")}).empty());
  // Another consumer holds the slot this source is configured with.
  ReplicationConnection other(
      PgConnection::Connect(conninfo_, ConnectionKind::Replication, "other consumer"));
  other.CreateSlot(name_, /*temporary=*/false);
  other.StartReplication(name_, Lsn(), name_, {});
  const auto pid = AwaitWalsenderPid();
  ASSERT_FALSE(pid.empty());
  try {
    source.Baseline(std::stop_token(), {T("t")}, [](const TableIdentifier&, const Row&) {});
    FAIL() << "Baseline took a slot in use";
  } catch (const RetryableError& e) {
    EXPECT_EQ(e.code(), "pg_slot_in_use");
    EXPECT_NE(std::string(e.what()).find(pid), std::string::npos) << e.what();
  }
  // The other consumer still has its slot.
  EXPECT_EQ(AwaitWalsenderPid(), pid);
}

TEST_F(PgTest, PublicationIsCreatedAndKeptInSyncWithTheTables) {
  for (const auto* t : {"a", "b", "c"}) Exec("CREATE TABLE " + Q(t) + " (id int PRIMARY KEY)");
  const auto published = [&] {
    std::set<std::string> names;
    for (const auto& row :
         Query("SELECT tablename FROM pg_publication_tables WHERE pubname = '" + name_ + "'")) {
      names.insert(row[0].value_or(""));
    }
    return names;
  };
  Source source(Options());
  EXPECT_TRUE(source.ValidateTables({T("a"), T("b")}).empty());
  EXPECT_EQ(published(), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(source.ValidateTables({T("b"), T("c")}).empty());
  EXPECT_EQ(published(), (std::set<std::string>{"b", "c"}));
  source.ResetSource(true);
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_publication WHERE pubname = '" + name_ + "'"), "0");
}

}  // namespace
}  // namespace laredo::pg::testing
