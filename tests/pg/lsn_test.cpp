#include "laredo/pg/lsn.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "laredo/error.hpp"

namespace laredo::pg {
namespace {

TEST(LsnTest, FormatsLikePostgres) {
  EXPECT_EQ(Lsn(0).ToString(), "0/0");
  EXPECT_EQ(Lsn(0x16B374D848ULL).ToString(), "16/B374D848");
  EXPECT_EQ(Lsn(0x0000000100000000ULL).ToString(), "1/0");
  EXPECT_EQ(Lsn(0xFFFFFFFFULL).ToString(), "0/FFFFFFFF");
  EXPECT_EQ(Lsn(std::numeric_limits<std::uint64_t>::max()).ToString(), "FFFFFFFF/FFFFFFFF");
}

TEST(LsnTest, ParsesWhatPostgresPrintsAndAccepts) {
  EXPECT_EQ(Lsn::Parse("16/B374D848").value(), 0x16B374D848ULL);
  EXPECT_EQ(Lsn::Parse("16/b374d848").value(), 0x16B374D848ULL);        // lower case is accepted
  EXPECT_EQ(Lsn::Parse("00000016/0000000A").value(), 0x160000000AULL);  // 8 digits with zeros
  EXPECT_EQ(Lsn::Parse("0/0").value(), 0U);
  EXPECT_EQ(Lsn::Parse("FFFFFFFF/FFFFFFFF").value(), std::numeric_limits<std::uint64_t>::max());
}

TEST(LsnTest, RoundTripsEdgeValues) {
  for (const std::uint64_t v :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xF}, std::uint64_t{0x10},
        std::uint64_t{0xFFFFFFFF}, std::uint64_t{0x100000000}, std::uint64_t{0x16B374D848},
        std::uint64_t{0x8000000000000000}, std::numeric_limits<std::uint64_t>::max() - 1,
        std::numeric_limits<std::uint64_t>::max()}) {
    const Lsn lsn(v);
    EXPECT_EQ(Lsn::Parse(lsn.ToString()), lsn) << lsn.ToString();
  }
  for (const char* text : {"0/0", "1/0", "0/1", "16/B374D848", "FFFFFFFF/FFFFFFFF", "A/B"}) {
    EXPECT_EQ(Lsn::Parse(text).ToString(), text);
  }
}

TEST(LsnTest, OrdersLikeTheLog) {
  EXPECT_LT(Lsn::Parse("0/FFFFFFFF"), Lsn::Parse("1/0"));  // not text order
  EXPECT_LT(Lsn::Parse("9/0"), Lsn::Parse("A/0"));
  EXPECT_GT(Lsn::Parse("10/0"), Lsn::Parse("F/FFFFFFFF"));
  EXPECT_EQ(Lsn::Parse("0/a"), Lsn(10));
  EXPECT_NE(Lsn(1), Lsn(2));
  EXPECT_FALSE(Lsn().IsValid());
  EXPECT_TRUE(Lsn(1).IsValid());
}

TEST(LsnTest, RejectsMalformedTextWithBadPosition) {
  for (const char* text : {"",
                           "/",
                           "0/",
                           "/0",
                           "16",
                           "16B374D848",
                           "16/B374D848/",
                           "16/B374D848 ",
                           " 16/B374D848",
                           "16 /B374D848",
                           "g/0",
                           "0/g",
                           "-1/0",
                           "+1/0",
                           "0x1/0",
                           "1/0x1",
                           "100000000/0",
                           "0/100000000",
                           "000000001/0",
                           "1//0",
                           "1/0/0",
                           "1/0\n"}) {
    try {
      (void)Lsn::Parse(text);
      ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const DataError& e) {
      EXPECT_EQ(e.code(), "bad_position") << text;
      EXPECT_NE(std::string(e.what()).find("malformed LSN"), std::string::npos);
    }
  }
}

TEST(LsnTest, RejectsEmbeddedNul) {
  const std::string text("1/0\0", 4);
  EXPECT_THROW((void)Lsn::Parse(text), DataError);
}

}  // namespace
}  // namespace laredo::pg
