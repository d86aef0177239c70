// PgSnapshot on pg_current_snapshot() texts: visibility at and around xmin and xmax, the
// in-progress list, 64-bit ids with an epoch reduced to 32 bits across the wrap, and malformed
// texts as clear errors.
#include "pg_snapshot.hpp"

#include <gtest/gtest.h>

#include "laredo/error.hpp"

namespace laredo::pg {
namespace {

TEST(PgSnapshot, SeesWhatCompletedBeforeItAndNothingInProgressOrAfter) {
  // In the server's format, with two transactions in progress.
  const auto s = PgSnapshot::Parse("748:753:749,751");
  EXPECT_EQ(s.xmin, 748U);
  EXPECT_EQ(s.xmax, 753U);
  EXPECT_EQ(s.in_progress, (std::vector<std::uint32_t>{749, 751}));
  EXPECT_TRUE(s.Sees(700));
  EXPECT_TRUE(s.Sees(747));
  EXPECT_TRUE(s.Sees(748));  // xmin itself is not in progress unless listed
  EXPECT_FALSE(s.Sees(749));
  EXPECT_TRUE(s.Sees(750));
  EXPECT_FALSE(s.Sees(751));
  EXPECT_TRUE(s.Sees(752));
  EXPECT_FALSE(s.Sees(753));  // xmax and after: not yet completed when it was taken
  EXPECT_FALSE(s.Sees(9000));
}

TEST(PgSnapshot, AnEmptyListAndIdsWithAnEpochAcrossTheWrap) {
  const auto idle = PgSnapshot::Parse("547233:547233:");  // a PostgreSQL 15.18 server, idle
  EXPECT_TRUE(idle.in_progress.empty());
  EXPECT_TRUE(idle.Sees(547232));
  EXPECT_FALSE(idle.Sees(547233));
  // Epoch 1: 2^32 + 5. pgoutput sends the low 32 bits; 4294967290 is older, 7 newer.
  const auto wrapped = PgSnapshot::Parse("4294967290:4294967301:4294967299");
  EXPECT_EQ(wrapped.xmax, 5U);
  EXPECT_TRUE(wrapped.Sees(4294967289U));
  EXPECT_FALSE(wrapped.Sees(3));  // 2^32 + 3: listed as in progress
  EXPECT_TRUE(wrapped.Sees(4));
  EXPECT_FALSE(wrapped.Sees(7));
}

TEST(PgSnapshot, MalformedTextsAreClearErrors) {
  for (const char* text : {"", "12", "12:13", "a:13:", "12:b:", "12:13:x", "12:13:14,",
                           "13:12:", "12:13:14,,15", "-1:13:"}) {
    try {
      (void)PgSnapshot::Parse(text);
      ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find("pg_current_snapshot()"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace laredo::pg
