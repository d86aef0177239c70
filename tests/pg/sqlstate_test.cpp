#include "sqlstate.hpp"

#include <gtest/gtest.h>

namespace laredo::pg {
namespace {

TEST(SqlStateTest, ClassifiesByCodeAlone) {
  for (const auto* s :
       {"08006", "08001", "57P01", "57P03", "53300", "40001", "40P01", "55006", "55P03"}) {
    EXPECT_EQ(ClassifySqlState(s), SqlStateClass::Transient) << s;
  }
  for (const auto* s : {"28P01", "28000", "3D000", "42501"}) {
    EXPECT_EQ(ClassifySqlState(s), SqlStateClass::Configuration) << s;
  }
  for (const auto* s : {"42P01", "55000", "42703", "XX000", ""}) {
    EXPECT_EQ(ClassifySqlState(s), SqlStateClass::Other) << s;
  }
}

TEST(SqlStateTest, FindsTheSqlStateOfAVerboseConnectErrorInAnyLanguage) {
  const auto english = ParseVerboseConnectError(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password "
      "authentication failed for user \"app\"\nLOCATION:  auth_failed, auth.c:323\n");
  EXPECT_EQ(english.sqlstate, "28P01");
  EXPECT_EQ(english.message,
            "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password "
            "authentication failed for user \"app\"");
  // The severity is translated by the server; the code is not.
  const auto german = ParseVerboseConnectError(
      "Verbindung zum Server auf \"127.0.0.1\", Port 5432 fehlgeschlagen: SCHWERWIEGEND:  3D000: "
      "Datenbank \"nope\" existiert nicht\nLOCATION:  InitPostgres, postinit.c:885");
  EXPECT_EQ(german.sqlstate, "3D000");
  EXPECT_EQ(german.message.find("LOCATION"), std::string::npos) << german.message;
}

TEST(SqlStateTest, AClientSideConnectErrorHasNoSqlState) {
  const auto refused = ParseVerboseConnectError(
      "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server "
      "running on that host and accepting TCP/IP connections?\n");
  EXPECT_FALSE(refused.sqlstate.has_value());
  EXPECT_NE(refused.message.find("Connection refused"), std::string::npos);
}

}  // namespace
}  // namespace laredo::pg
