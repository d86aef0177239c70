// Connection failures that need no server: parse errors and unreachable servers.
#include "pg_connection.hpp"

#include <gtest/gtest.h>

namespace laredo::pg {
namespace {

TEST(PgConnectionTest, UnparsableConninfoIsAConfigErrorWithoutThePassword) {
  try {
    PgConnection::Connect("host=localhost password=s3cr3t_value bogus_keyword=1",
                          ConnectionKind::Normal);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cr3t_value"), std::string::npos) << e.what();
    ASSERT_EQ(e.problems().size(), 1U);
    EXPECT_EQ(e.problems()[0].find("s3cr3t_value"), std::string::npos);
  }
}

TEST(PgConnectionTest, UnreachableServerIsRetryableWithoutThePassword) {
  // Port 1 on loopback: refused at once.
  try {
    PgConnection::Connect("postgresql://u:s3cr3t_value@127.0.0.1:1/db?connect_timeout=2",
                          ConnectionKind::Replication);
    FAIL() << "expected RetryableError";
  } catch (const RetryableError& e) {
    EXPECT_EQ(e.code(), "pg_connection");
    EXPECT_EQ(std::string(e.what()).find("s3cr3t_value"), std::string::npos) << e.what();
  }
}

TEST(PgConnectionTest, QuotesIdentifiersAndLiterals) {
  PgConnection conn;
  EXPECT_EQ(conn.QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(conn.QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(conn.QuoteTable("s", "t"), "\"s\".\"t\"");
}

}  // namespace
}  // namespace laredo::pg
