#include "laredo/value.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "laredo/error.hpp"
#include "laredo/row.hpp"

namespace laredo {
namespace {

TEST(Value, DefaultIsNull) {
  EXPECT_TRUE(Value().IsNull());
  EXPECT_EQ(Value().kind(), Value::Kind::Null);
  EXPECT_EQ(Value().ToString(), "NULL");
  EXPECT_EQ(Value(), Value(nullptr));
}

TEST(Value, ConstructorsPickTheIntendedKind) {
  EXPECT_EQ(Value(true).kind(), Value::Kind::Bool);
  EXPECT_EQ(Value(7).kind(), Value::Kind::Int);  // int must not become bool
  EXPECT_EQ(Value(std::int64_t{1} << 40).AsInt(), std::int64_t{1} << 40);
  EXPECT_EQ(Value(2.5).kind(), Value::Kind::Double);
  EXPECT_EQ(Value("text").kind(), Value::Kind::Text);  // const char* must not become bool
  EXPECT_EQ(Value(std::string("s")).AsText(), "s");
  EXPECT_EQ(Value::Numeric("12.50").AsNumeric(), "12.50");
  EXPECT_EQ(Value::Json(R"({"a":1})").AsJson(), R"({"a":1})");
  EXPECT_EQ(Value::Bytes(std::string("\x00\x01", 2)).AsBytes().size(), 2U);
  EXPECT_TRUE(Value::Unchanged().IsUnchanged());
}

TEST(Value, WrongAccessorThrowsLaredoError) {
  try {
    (void)Value(1).AsText();
    FAIL() << "expected an exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "wrong_type");
    EXPECT_NE(std::string(e.what()).find("Int"), std::string::npos);
  }
  EXPECT_THROW((void)Value("1").AsInt(), Error);
  EXPECT_THROW((void)Value().AsBool(), Error);
  EXPECT_THROW((void)Value::Numeric("1").AsText(), Error);
  EXPECT_THROW((void)Value::Date(1).AsTimestamp(), Error);
}

TEST(Value, EqualityComparesKindAndPayload) {
  EXPECT_EQ(Value(1), Value(1));
  EXPECT_NE(Value(1), Value(2));
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_NE(Value("1"), Value::Numeric("1"));
  EXPECT_NE(Value::Timestamp(5), Value::TimestampTz(5));
  EXPECT_NE(Value(), Value::Unchanged());
}

TEST(Value, ToStringRendersEveryKind) {
  EXPECT_EQ(Value(false).ToString(), "false");
  EXPECT_EQ(Value(-42).ToString(), "-42");
  EXPECT_EQ(Value(1.5).ToString(), "1.5");
  EXPECT_EQ(Value(std::numeric_limits<double>::quiet_NaN()).ToString(), "NaN");
  EXPECT_EQ(Value::Bytes(std::string("\x0a\xff", 2)).ToString(), "\\x0aff");
  EXPECT_EQ(Value::Date(0).ToString(), "1970-01-01");
  EXPECT_EQ(Value::Date(19'844).ToString(), "2024-05-01");
  EXPECT_EQ(Value::Date(-1).ToString(), "1969-12-31");
  EXPECT_EQ(Value::Time(3'723'000'001).ToString(), "01:02:03.000001");
  EXPECT_EQ(Value::TimestampTz(1'714'564'800'000'001).ToString(), "2024-05-01T12:00:00.000001Z");
  EXPECT_EQ(Value::Timestamp(-1).ToString(), "1969-12-31T23:59:59.999999");
  EXPECT_EQ(Value::TimestampTz(std::numeric_limits<std::int64_t>::max()).ToString(), "infinity");
}

// PostgreSQL dates run from 4714 BC to 5874897 AD; std::chrono::year stops at 32767.
TEST(Value, DatesBeyondChronoYearsRenderCorrectly) {
  EXPECT_EQ(Value::Date(2'145'042'905).ToString(), "5874897-12-31");
  EXPECT_EQ(Value::Date(11'248'738).ToString(), "32768-01-01");
  EXPECT_EQ(Value::Date(11'248'737).ToString(), "32767-12-31");
  EXPECT_EQ(Value::Date(-2'440'588).ToString(), "-4713-11-24");  // Julian day 0
  EXPECT_EQ(Value::Date(11'016).ToString(), "2000-02-29");
  EXPECT_EQ(Value::TimestampTz(std::int64_t{11'248'738} * 86'400'000'000).ToString(),
            "32768-01-01T00:00:00Z");
}

TEST(Value, NaNEqualsItselfSoRowsCompareAsValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Value(nan), Value(nan));
  EXPECT_NE(Value(nan), Value(1.0));
  EXPECT_NE(Value(nan), Value());
  const auto names = ColumnNames::Make({"id", "x"});
  EXPECT_EQ(Row(names, {Value(1), Value(nan)}), Row(names, {Value(1), Value(nan)}));
}

TEST(Value, FromRawRebuildsOnlyMatchingKinds) {
  EXPECT_EQ(Value::FromInt(Value::Kind::Date, 3), Value::Date(3));
  EXPECT_EQ(Value::FromString(Value::Kind::Uuid, "u"), Value::Uuid("u"));
  EXPECT_THROW(Value::FromInt(Value::Kind::Text, 1), Error);
  EXPECT_THROW(Value::FromString(Value::Kind::Int, "1"), Error);
}

}  // namespace
}  // namespace laredo
