// Server crashes and restarts: they end every connection of the server, so this binary runs
// alone (RUN_SERIAL).
#include <cstdlib>

#include "backpressure_fault.hpp"

namespace laredo::pg::testing {
namespace {

// Runs tests/pg/pg_server.sh `command` on the test server.
void ServerCommand(const std::string& command) {
  const char* dir = std::getenv("LAREDO_PG_DIR");
  ASSERT_NE(dir, nullptr) << "LAREDO_PG_DIR is not set (run tests/pg/pg_server.sh start DIR)";
  const std::string line =
      std::string(LAREDO_PG_SERVER_SCRIPT) + " " + command + " '" + dir + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(line.c_str()), 0) << line;
}

// Reconnects the test's own connection once the server accepts connections again.
void Reconnect(PgTest& t) {
  ASSERT_TRUE(Eventually(
      [&] {
        try {
          t.admin_ = PgConnection::Connect(t.conninfo_, ConnectionKind::Normal, "laredo test");
          return true;
        } catch (const RetryableError&) {
          return false;
        }
      },
      60s));
}

void CrashRestartServer(PgTest& t) {
  ServerCommand("crash-restart");
  Reconnect(t);
}

TEST_F(PgTest, ReconnectGivesUpAfterMaxAttemptsWithAClearError) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  auto options = Options();
  options.reconnect.max_attempts = 2;
  Harness h(options);
  h.engine.AddPipeline("pg", T("t"), std::make_shared<memory::IndexedTarget>());
  h.engine.Start();
  ASSERT_TRUE(h.engine.AwaitReady(30s));
  ASSERT_FALSE(AwaitWalsenderPid().empty());
  ServerCommand("halt");  // refuses connections until resumed: retried, up to max_attempts
  const bool failed = Eventually([&] { return h.engine.SourceError("pg").has_value(); }, 30s);
  ServerCommand("resume");
  Reconnect(*this);
  ASSERT_TRUE(failed);
  const auto error = *h.engine.SourceError("pg");
  EXPECT_NE(error.find("gave up reconnecting"), std::string::npos) << error;
  EXPECT_NE(error.find("after 2 attempts"), std::string::npos) << error;
  EXPECT_EQ(h.engine.GetSourceState("pg"), SourceState::Error);
  h.engine.Stop();
}

TEST_F(PgTest, StatefulSourceLosesNoChangeWhenTheServerCrashesUnderBackpressure) {
  LoseConnectionUnderBackpressure(*this, SlotMode::Stateful, [&] { CrashRestartServer(*this); });
}

TEST_F(PgTest, EphemeralSourceRebaselinesWhenTheServerCrashesUnderBackpressure) {
  LoseConnectionUnderBackpressure(*this, SlotMode::Ephemeral, [&] { CrashRestartServer(*this); });
}

}  // namespace
}  // namespace laredo::pg::testing
