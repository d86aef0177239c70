#include "laredo/kinesis/sequence_number.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "laredo/error.hpp"

namespace laredo::kinesis {
namespace {

// Shaped like real Kinesis sequence numbers: 56 decimal digits, far beyond 64 bits.
constexpr const char* kA = "49590338271490256608559692538361571095921575989136588898";
constexpr const char* kB = "49590338271490256608559692540925702759324208523137515618";
constexpr const char* kC = "49590338271490256608559692540925702759324208523137515619";

TEST(SequenceNumber, RoundTripsItsText) {
  for (const char* text : {kA, kB, "0", "007"}) {
    EXPECT_EQ(SequenceNumber(text).ToString(), text);
    EXPECT_EQ(SequenceNumber::Parse(text).ToString(), text);
  }
}

TEST(SequenceNumber, ComparesAsNumbersBeyond64Bits) {
  EXPECT_LT(SequenceNumber(kA), SequenceNumber(kB));
  EXPECT_LT(SequenceNumber(kB), SequenceNumber(kC));  // differ only in the last digit
  EXPECT_GT(SequenceNumber(kC), SequenceNumber(kA));
  EXPECT_EQ(SequenceNumber(kB), SequenceNumber(kB));
}

TEST(SequenceNumber, ShorterIsSmallerEvenWhenItsTextSortsAfter) {
  // 55 digits whose text sorts after kA's: as numbers it is ten times smaller.
  const std::string shorter = std::string(kB).substr(0, 55);
  ASSERT_GT(shorter, std::string(kA));
  EXPECT_LT(SequenceNumber(shorter), SequenceNumber(kA));
  EXPECT_LT(SequenceNumber("9"), SequenceNumber("10"));
}

TEST(SequenceNumber, LeadingZerosDoNotCount) {
  EXPECT_EQ(SequenceNumber("007"), SequenceNumber("7"));
  EXPECT_EQ(SequenceNumber("000"), SequenceNumber("0"));
  EXPECT_LT(SequenceNumber("0009"), SequenceNumber("10"));
  EXPECT_EQ(SequenceNumber(std::string("000") + kA), SequenceNumber(kA));
}

TEST(SequenceNumber, SortsNumerically) {
  std::vector<SequenceNumber> v{SequenceNumber(kC), SequenceNumber("10"), SequenceNumber(kA),
                                SequenceNumber("9"), SequenceNumber(kB)};
  std::sort(v.begin(), v.end());
  std::vector<std::string> texts;
  for (const auto& s : v) texts.push_back(s.ToString());
  EXPECT_EQ(texts, (std::vector<std::string>{"9", "10", kA, kB, kC}));
}

TEST(SequenceNumber, RejectsAnythingButDigits) {
  for (const char* bad : {"", "-1", "+1", "12a", " 12", "12 ", "1.5", "0x10", "4959\n"}) {
    try {
      SequenceNumber s{bad};
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const DataError& e) {
      EXPECT_EQ(e.code(), "bad_position") << bad;
    }
  }
}

}  // namespace
}  // namespace laredo::kinesis
