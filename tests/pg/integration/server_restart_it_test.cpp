// A crash-restart of the server while the engine applies backpressure. It ends every connection
// of the server, so this binary runs alone (RUN_SERIAL).
#include <cstdlib>

#include "backpressure_fault.hpp"

namespace laredo::pg::testing {
namespace {

// Crash-restarts the test server (tests/pg/pg_server.sh crash-restart) and reconnects the test's
// own connection.
void CrashRestartServer(PgTest& t) {
  const char* dir = std::getenv("LAREDO_PG_DIR");
  ASSERT_NE(dir, nullptr) << "LAREDO_PG_DIR is not set (run tests/pg/pg_server.sh start DIR)";
  const std::string command =
      std::string(LAREDO_PG_SERVER_SCRIPT) + " crash-restart '" + dir + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
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

TEST_F(PgTest, StatefulSourceLosesNoChangeWhenTheServerCrashesUnderBackpressure) {
  LoseConnectionUnderBackpressure(*this, SlotMode::Stateful, [&] { CrashRestartServer(*this); });
}

TEST_F(PgTest, EphemeralSourceRebaselinesWhenTheServerCrashesUnderBackpressure) {
  LoseConnectionUnderBackpressure(*this, SlotMode::Ephemeral, [&] { CrashRestartServer(*this); });
}

}  // namespace
}  // namespace laredo::pg::testing
