#include "conninfo.hpp"

#include <gtest/gtest.h>

#include <string>

namespace laredo::pg {
namespace {

// Redacts and checks that `secret` is gone (the main promise) and the result is as expected.
void ExpectRedacted(std::string_view in, std::string_view secret, std::string_view expected) {
  const std::string out = RedactConnInfo(in);
  EXPECT_EQ(out.find(secret), std::string::npos) << in << " -> " << out;
  EXPECT_EQ(out, expected) << in;
}

TEST(ConnInfoTest, UriUserPassword) {
  ExpectRedacted("postgresql://user:secret@host/db", "secret", "postgresql://user:***@host/db");
  ExpectRedacted("postgres://u:secret@h:5432,h2:5433/db", "secret",
                 "postgres://u:***@h:5432,h2:5433/db");
  ExpectRedacted("postgresql://u:s%40cret@h/db", "s%40cret", "postgresql://u:***@h/db");
  ExpectRedacted("postgresql://u:@h/db", "never", "postgresql://u:***@h/db");
}

TEST(ConnInfoTest, UriQueryPassword) {
  ExpectRedacted("postgresql://user:secret@host/db?password=x", "secret",
                 "postgresql://user:***@host/db?password=***");
  ExpectRedacted("postgresql://host/db?sslmode=require&password=hunter2&application_name=a",
                 "hunter2", "postgresql://host/db?sslmode=require&password=***&application_name=a");
  ExpectRedacted("postgresql:///db?host=/tmp&pass%77ord=hunter2", "hunter2",
                 "postgresql:///db?host=/tmp&pass%77ord=***");
  ExpectRedacted("postgresql://host/db?PASSWORD=hunter2", "hunter2",
                 "postgresql://host/db?PASSWORD=***");
}

TEST(ConnInfoTest, UriWithoutPasswordIsUnchanged) {
  for (const char* uri :
       {"postgresql://", "postgresql://host", "postgresql://user@host:5432/db",
        "postgresql://host/db?application_name=a@b", "postgresql://[::1]:5432/db"}) {
    EXPECT_EQ(RedactConnInfo(uri), uri);
  }
}

TEST(ConnInfoTest, MalformedUriPasswordsStayHidden) {
  // Unencoded '@', '/' and '?' in a password: libpq would reject or misparse these, and the
  // error message must still not show them.
  ExpectRedacted("postgresql://u:p@ss@host/db", "p@ss", "postgresql://u:***@host/db");
  ExpectRedacted("postgresql://u:p/ss@host/db", "p/ss", "postgresql://u:***@host/db");
  ExpectRedacted("postgresql://u:p?ss@host/db", "p?ss", "postgresql://u:***@host/db");
  ExpectRedacted("postgresql://host/db?password=x@y", "x@y", "postgresql://host/db?password=***");
}

TEST(ConnInfoTest, KeyValuePasswords) {
  ExpectRedacted("host=h password=secret dbname=d", "secret", "host=h password=*** dbname=d");
  ExpectRedacted("password='se cret' host=h", "cret", "password=*** host=h");
  ExpectRedacted("password = secret", "secret", "password = ***");
  ExpectRedacted("host=h password='it\\'s secret'", "secret", "host=h password=***");
  ExpectRedacted("password=sec\\ ret", "ret", "password=***");
  ExpectRedacted("PassWord=secret", "secret", "PassWord=***");
  ExpectRedacted("password=", "never", "password=***");
}

TEST(ConnInfoTest, KeyValueWithoutPasswordIsUnchanged) {
  for (const char* conninfo : {"", "host=h port=5432 dbname=d", "  host = h  ", "dbname='my db'",
                               "application_name='pass word'"}) {
    EXPECT_EQ(RedactConnInfo(conninfo), conninfo);
  }
}

TEST(ConnInfoTest, MalformedKeyValueErrsTowardsHiding) {
  ExpectRedacted("host=h password='unterminated secret", "secret", "host=h password=***");
  ExpectRedacted("host=h password secret", "secret", "host=h password ***");
}

TEST(ConnInfoTest, DbnameHoldingAConnectionString) {
  // libpq expands a dbname that is a connection string or URI; its password must go too.
  ExpectRedacted("dbname='host=h password=secret' user=u", "secret",
                 "dbname='host=h password=***' user=u");
  ExpectRedacted("dbname=postgresql://u:secret@h/db", "secret", "dbname=postgresql://u:***@h/db");
  ExpectRedacted("dbname='password=\\'a b\\''", "a b", "dbname='password=***'");
}

}  // namespace
}  // namespace laredo::pg
