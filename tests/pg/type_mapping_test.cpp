#include "type_mapping.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "laredo/error.hpp"

namespace laredo::pg {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kDay = 86'400'000'000;

std::int64_t Days(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}}
      .time_since_epoch()
      .count();
}

void ExpectBad(std::uint32_t type_oid, std::string_view text) {
  try {
    const auto v = TextToValue(type_oid, text);
    ADD_FAILURE() << TypeName(type_oid) << " accepted \"" << text << "\" as " << v.ToString();
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_value");
    const std::string what = e.what();
    EXPECT_NE(what.find(TypeName(type_oid)), std::string::npos) << what;
    EXPECT_NE(what.find(std::string(text.substr(0, 20))), std::string::npos) << what;
  }
}

TEST(TypeMappingTest, Bool) {
  EXPECT_EQ(TextToValue(oid::kBool, "t"), Value(true));
  EXPECT_EQ(TextToValue(oid::kBool, "f"), Value(false));
  EXPECT_EQ(TextToValue(oid::kBool, "true"), Value(true));
  for (const char* bad : {"", "T", "yes", "1", "tt"}) ExpectBad(oid::kBool, bad);
}

TEST(TypeMappingTest, Integers) {
  EXPECT_EQ(TextToValue(oid::kInt2, "-32768"), Value(-32768));
  EXPECT_EQ(TextToValue(oid::kInt2, "32767"), Value(32767));
  EXPECT_EQ(TextToValue(oid::kInt4, "-2147483648"), Value(-2147483648LL));
  EXPECT_EQ(TextToValue(oid::kInt4, "0"), Value(0));
  EXPECT_EQ(TextToValue(oid::kInt8, "9223372036854775807"),
            Value(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(TextToValue(oid::kInt8, "-9223372036854775808"),
            Value(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(TextToValue(oid::kOid, "4294967295"), Value(4294967295LL));
  EXPECT_EQ(TextToValue(oid::kInt8, "42").kind(), Value::Kind::Int);

  ExpectBad(oid::kInt2, "32768");
  ExpectBad(oid::kInt4, "2147483648");
  ExpectBad(oid::kInt8, "9223372036854775808");
  ExpectBad(oid::kOid, "-1");
  ExpectBad(oid::kOid, "4294967296");
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "abc"}) {
    ExpectBad(oid::kInt4, bad);
  }
}

TEST(TypeMappingTest, Floats) {
  EXPECT_EQ(TextToValue(oid::kFloat8, "1.5"), Value(1.5));
  EXPECT_EQ(TextToValue(oid::kFloat8, "-0"), Value(-0.0));
  EXPECT_EQ(TextToValue(oid::kFloat8, "1e+308"), Value(1e308));
  EXPECT_EQ(TextToValue(oid::kFloat8, "2.2250738585072014e-308"), Value(2.2250738585072014e-308));
  EXPECT_EQ(TextToValue(oid::kFloat8, ".5"), Value(0.5));
  EXPECT_TRUE(std::isnan(TextToValue(oid::kFloat8, "NaN").AsDouble()));
  EXPECT_EQ(TextToValue(oid::kFloat8, "Infinity"), Value(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(TextToValue(oid::kFloat8, "-Infinity"),
            Value(-std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(std::isnan(TextToValue(oid::kFloat4, "NaN").AsDouble()));
  EXPECT_EQ(TextToValue(oid::kFloat4, "-Infinity"),
            Value(-std::numeric_limits<double>::infinity()));
  // float4 is parsed as a float: the Double is exactly the value PostgreSQL stores.
  EXPECT_EQ(TextToValue(oid::kFloat4, "1.1"), Value(static_cast<double>(1.1F)));
  EXPECT_EQ(TextToValue(oid::kFloat4, "1e+30"), Value(static_cast<double>(1e30F)));
  EXPECT_EQ(TextToValue(oid::kFloat4, "1e-45"), Value(static_cast<double>(1e-45F)));

  for (const char* bad :
       {"", "nan", "inf", "-inf", "infinity", "1.5x", " 1", "--1", "+1", "e5", "1e999", "0x1p3"}) {
    ExpectBad(oid::kFloat8, bad);
  }
  ExpectBad(oid::kFloat4, "1e39");
}

TEST(TypeMappingTest, NumericKeepsItsExactText) {
  for (const char* text : {"0", "0.000", "-12345.678", "12345678901234567890.000000000000000001",
                           "NaN", "Infinity", "-Infinity"}) {
    EXPECT_EQ(TextToValue(oid::kNumeric, text), Value::Numeric(text));
  }
  for (const char* bad : {"", "-", "1.", ".5", "1e5", "1.2.3", "nan", "1,5", " 1"}) {
    ExpectBad(oid::kNumeric, bad);
  }
}

TEST(TypeMappingTest, TextTypes) {
  for (const auto type :
       {oid::kText, oid::kVarchar, oid::kBpchar, oid::kName, oid::kChar, oid::kUnknown}) {
    EXPECT_EQ(TextToValue(type, "héllo\t"), Value("héllo\t"));
    EXPECT_EQ(TextToValue(type, ""), Value(""));
  }
}

TEST(TypeMappingTest, OtherTypesStayText) {
  constexpr std::uint32_t kInterval = 1186;
  constexpr std::uint32_t kInt4Array = 1007;
  constexpr std::uint32_t kTimeTz = 1266;
  constexpr std::uint32_t kInet = 869;
  constexpr std::uint32_t kSomeEnum = 16390;
  EXPECT_EQ(TextToValue(kInterval, "1 day 02:00:00"), Value("1 day 02:00:00"));
  EXPECT_EQ(TextToValue(kInt4Array, "{1,NULL,3}"), Value("{1,NULL,3}"));
  EXPECT_EQ(TextToValue(kTimeTz, "12:00:00+02"), Value("12:00:00+02"));
  EXPECT_EQ(TextToValue(kInet, "10.0.0.1/8"), Value("10.0.0.1/8"));
  EXPECT_EQ(TextToValue(kSomeEnum, "happy"), Value("happy"));
  EXPECT_EQ(TypeName(kSomeEnum), "oid 16390");
}

TEST(TypeMappingTest, Bytea) {
  EXPECT_EQ(TextToValue(oid::kBytea, "\\x"), Value::Bytes(""));
  EXPECT_EQ(TextToValue(oid::kBytea, "\\x00ff10"), Value::Bytes(std::string("\x00\xff\x10", 3)));
  EXPECT_EQ(TextToValue(oid::kBytea, "\\xDEADbeef"), Value::Bytes("\xde\xad\xbe\xef"));
  // bytea_output=escape, as the server writes it for \x00ff5c41.
  EXPECT_EQ(TextToValue(oid::kBytea, "\\000\\377\\\\A"),
            Value::Bytes(std::string("\x00\xff\\A", 4)));
  EXPECT_EQ(TextToValue(oid::kBytea, "plain"), Value::Bytes("plain"));
  for (const char* bad :
       {"\\x0", "\\x0g", "\\xzz", "\\x 00", "\\", "\\1", "\\12", "\\400", "a\\b"}) {
    ExpectBad(oid::kBytea, bad);
  }
}

TEST(TypeMappingTest, Uuid) {
  EXPECT_EQ(TextToValue(oid::kUuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  EXPECT_EQ(TextToValue(oid::kUuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  for (const char* bad :
       {"", "a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "a0eebc99x9c0b-4ef8-bb6d-6bb9bd380a11"}) {
    ExpectBad(oid::kUuid, bad);
  }
}

TEST(TypeMappingTest, Json) {
  EXPECT_EQ(TextToValue(oid::kJson, R"({"a": [1, 2]})"), Value::Json(R"({"a": [1, 2]})"));
  EXPECT_EQ(TextToValue(oid::kJsonb, "null"), Value::Json("null"));
}

TEST(TypeMappingTest, Date) {
  EXPECT_EQ(TextToValue(oid::kDate, "1970-01-01"), Value::Date(0));
  EXPECT_EQ(TextToValue(oid::kDate, "2024-02-29"), Value::Date(Days(2024, 2, 29)));
  EXPECT_EQ(TextToValue(oid::kDate, "1969-12-31"), Value::Date(-1));
  EXPECT_EQ(TextToValue(oid::kDate, "2000-02-29"), Value::Date(Days(2000, 2, 29)));
  // BC years: 1 BC is year 0 (PostgreSQL's values, from the server).
  EXPECT_EQ(TextToValue(oid::kDate, "0044-03-15 BC"), Value::Date(-735160));
  EXPECT_EQ(TextToValue(oid::kDate, "0001-01-01 BC"), Value::Date(-719528));
  EXPECT_EQ(TextToValue(oid::kDate, "0001-12-31 BC"), Value::Date(Days(1, 1, 1) - 1));
  EXPECT_EQ(TextToValue(oid::kDate, "4713-11-24 BC"), Value::Date(-2440222));  // the minimum
  // Past year 9999 the year has more digits; the maximum date is far beyond std::chrono::year.
  EXPECT_EQ(TextToValue(oid::kDate, "10000-01-01"), Value::Date(2932897));
  EXPECT_EQ(TextToValue(oid::kDate, "5874897-12-31"), Value::Date(2145042905));
  EXPECT_EQ(TextToValue(oid::kDate, "infinity"),
            Value::Date(std::numeric_limits<std::int32_t>::max()));
  EXPECT_EQ(TextToValue(oid::kDate, "-infinity"),
            Value::Date(std::numeric_limits<std::int32_t>::min()));
  EXPECT_EQ(TextToValue(oid::kDate, "infinity").ToString(), "infinity");

  for (const char* bad :
       {"", "2024-1-01", "24-01-01", "2024-13-01", "2024-00-10", "2023-02-29", "1900-02-29",
        "2024-04-31", "2024-01-00", "0000-01-01", "2024-01-01 ", "2024-01-01 AD", "2024/01/01",
        "01-02-2024", "Infinity", "2024-01-01 00:00:00"}) {
    ExpectBad(oid::kDate, bad);
  }
}

TEST(TypeMappingTest, Time) {
  EXPECT_EQ(TextToValue(oid::kTime, "00:00:00"), Value::Time(0));
  EXPECT_EQ(TextToValue(oid::kTime, "23:59:59.999999"), Value::Time(kDay - 1));
  EXPECT_EQ(TextToValue(oid::kTime, "12:34:56.5"), Value::Time(45'296'500'000));
  EXPECT_EQ(TextToValue(oid::kTime, "12:34:56.000001"), Value::Time(45'296'000'001));
  EXPECT_EQ(TextToValue(oid::kTime, "24:00:00"), Value::Time(kDay));  // PostgreSQL allows it
  for (const char* bad :
       {"", "24:00:00.000001", "24:00:01", "25:00:00", "12:60:00", "12:00:60", "1:00:00", "12:00",
        "12:00:00.", "12:00:00.1234567", "12:00:00+00", "12:00:00 "}) {
    ExpectBad(oid::kTime, bad);
  }
}

TEST(TypeMappingTest, Timestamp) {
  EXPECT_EQ(TextToValue(oid::kTimestamp, "1970-01-01 00:00:00"), Value::Timestamp(0));
  EXPECT_EQ(TextToValue(oid::kTimestamp, "2024-05-01 12:00:00.5"),
            Value::Timestamp(Days(2024, 5, 1) * kDay + 43'200'500'000));
  EXPECT_EQ(TextToValue(oid::kTimestamp, "1969-12-31 23:59:59.999999"), Value::Timestamp(-1));
  EXPECT_EQ(TextToValue(oid::kTimestamp, "4713-11-24 00:00:00 BC"),
            Value::Timestamp(-210835180800000000));
  EXPECT_EQ(TextToValue(oid::kTimestamp, "2024-05-01T12:00:00"),
            Value::Timestamp(Days(2024, 5, 1) * kDay + 43'200'000'000));
  EXPECT_EQ(TextToValue(oid::kTimestamp, "infinity"),
            Value::Timestamp(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(TextToValue(oid::kTimestamp, "-infinity"),
            Value::Timestamp(std::numeric_limits<std::int64_t>::min()));
  // PostgreSQL goes to 294276 AD; microseconds since 1970 in 64 bits end in 294247. Those last
  // years read as the latest instant that fits, just before infinity (a refused value would stop
  // a baseline half way); text beyond PostgreSQL's range is still refused.
  const auto last = Value::Timestamp(std::numeric_limits<std::int64_t>::max() - 1);
  EXPECT_EQ(TextToValue(oid::kTimestamp, "294276-12-31 23:59:59.999999"), last);
  EXPECT_EQ(TextToValue(oid::kTimestamp, "294247-06-01 00:00:00"), last);
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "294276-12-31 23:59:59.999999+00"),
            Value::TimestampTz(std::numeric_limits<std::int64_t>::max() - 1));
  ExpectBad(oid::kTimestamp, "294277-01-01 00:00:00");
  ExpectBad(oid::kTimestamp, "900000-01-01 00:00:00");
  EXPECT_EQ(TextToValue(oid::kTimestamp, "294246-12-31 23:59:59.999999").kind(),
            Value::Kind::Timestamp);
  for (const char* bad : {"", "2024-05-01", "2024-05-01 12:00", "2024-05-01 12:00:00+00",
                          "2024-05-01  12:00:00", "2024-05-01 24:00:00", "2024-02-30 00:00:00",
                          "2024-05-01 12:00:00.1234567", "2024-05-01 12:00:00 bc"}) {
    ExpectBad(oid::kTimestamp, bad);
  }
}

// The common layout has a fast path of its own; random instants in every year from 1 to 9999, in
// every offset form, must read as the general rules say (here: std::chrono's calendar).
TEST(TypeMappingTest, TimestampsInTheCommonLayoutAgreeWithTheCalendar) {
  std::mt19937_64 random(20261121);
  for (int i = 0; i < 20000; ++i) {
    const int year = 1 + static_cast<int>(random() % 9999);
    const auto month = static_cast<unsigned>(1 + random() % 12);
    const auto last_day = static_cast<unsigned>(
        (std::chrono::year{year} / std::chrono::month{month} / std::chrono::last).day());
    const auto day = static_cast<unsigned>(1 + random() % last_day);
    const auto second_of_day = static_cast<std::int64_t>(random() % 86'400);
    const int fraction_digits = static_cast<int>(random() % 7);
    std::int64_t fraction = 0;
    std::string fraction_text;
    for (int d = 0; d < fraction_digits; ++d) {
      const auto digit = static_cast<int>(random() % 10);
      fraction_text += static_cast<char>('0' + digit);
    }
    for (int d = 0; d < 6; ++d) {
      fraction = fraction * 10 + (d < fraction_digits ? fraction_text[d] - '0' : 0);
    }
    const int offset_minutes = static_cast<int>(random() % (16 * 60)) * (random() % 2 ? 1 : -1);
    const bool minutes_shown = offset_minutes % 60 != 0 || random() % 2 == 0;
    const std::string base = fmt::format(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}{}", year, month, day, second_of_day / 3600,
        second_of_day / 60 % 60, second_of_day % 60, fraction_digits > 0 ? "." : "", fraction_text);
    const std::string offset =
        fmt::format("{}{:02}", offset_minutes < 0 ? '-' : '+', std::abs(offset_minutes) / 60) +
        (minutes_shown ? fmt::format(":{:02}", std::abs(offset_minutes) % 60) : "");
    const std::int64_t local = Days(year, month, day) * kDay + second_of_day * 1'000'000 + fraction;
    ASSERT_EQ(TextToValue(oid::kTimestamp, base), Value::Timestamp(local)) << base;
    ASSERT_EQ(TextToValue(oid::kTimestampTz, base + offset),
              Value::TimestampTz(local - std::int64_t{offset_minutes} * 60'000'000))
        << base + offset;
  }
}

TEST(TypeMappingTest, TimestampTz) {
  const std::int64_t noon = Days(2024, 5, 1) * kDay + 43'200'000'000;
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "2024-05-01 12:00:00+00"), Value::TimestampTz(noon));
  // One instant, as sessions in different time zones print it.
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "2024-05-01 17:30:00+05:30"), Value::TimestampTz(noon));
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "2024-05-01 05:00:00-07"), Value::TimestampTz(noon));
  // Local mean time offsets carry seconds.
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "1900-01-01 00:19:32+00:19:32"),
            Value::TimestampTz(Days(1900, 1, 1) * kDay));
  for (const auto& [text, micros] : std::vector<std::pair<const char*, std::int64_t>>{
           {"2024-05-01 12:00:00.1+00", 100'000},
           {"2024-05-01 12:00:00.12+00", 120'000},
           {"2024-05-01 12:00:00.123+00", 123'000},
           {"2024-05-01 12:00:00.1234+00", 123'400},
           {"2024-05-01 12:00:00.12345+00", 123'450},
           {"2024-05-01 12:00:00.123456+00", 123'456}}) {
    EXPECT_EQ(TextToValue(oid::kTimestampTz, text), Value::TimestampTz(noon + micros)) << text;
  }
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "0044-03-15 12:00:00.25+00 BC"),
            Value::TimestampTz(-63517780799750000));
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "infinity"),
            Value::TimestampTz(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "-infinity"),
            Value::TimestampTz(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(TextToValue(oid::kTimestampTz, "2024-05-01 12:00:00+00").ToString(),
            "2024-05-01T12:00:00Z");

  for (const char* bad :
       {"", "2024-05-01 12:00:00", "2024-05-01 12:00:00Z", "2024-05-01 12:00:00 UTC",
        "2024-05-01 12:00:00+0", "2024-05-01 12:00:00+0530", "2024-05-01 12:00:00+05:3",
        "2024-05-01 12:00:00+16", "2024-05-01 12:00:00+05:60", "2024-05-01 12:00:00+00 BC ",
        "2024-05-01 12:00:00.+00", "2024-05-01 12:00:00+00:00:00:00"}) {
    ExpectBad(oid::kTimestampTz, bad);
  }
}

TEST(TypeMappingTest, LongBadValuesAreCutInTheMessage) {
  const std::string huge(100'000, 'x');
  try {
    (void)TextToValue(oid::kInt4, huge);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_LT(std::string(e.what()).size(), 200U);
  }
}

}  // namespace
}  // namespace laredo::pg
