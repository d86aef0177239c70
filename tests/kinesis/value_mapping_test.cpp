#include "value_mapping.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "laredo/error.hpp"

namespace laredo::kinesis::contract {
namespace {

using nlohmann::json;

Value V(const char* json_text, ColumnKind kind) { return ToValue(json::parse(json_text), kind); }

void ExpectBad(const char* json_text, ColumnKind kind) {
  try {
    (void)V(json_text, kind);
    ADD_FAILURE() << json_text << " accepted";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_record");
  }
}

TEST(KindForType, KnowsCommonNamesIgnoringCaseAndModifiers) {
  EXPECT_EQ(KindForType("bigint"), ColumnKind::Int);
  EXPECT_EQ(KindForType("INTEGER"), ColumnKind::Int);
  EXPECT_EQ(KindForType("double precision"), ColumnKind::Double);
  EXPECT_EQ(KindForType("numeric(10,2)"), ColumnKind::Numeric);
  EXPECT_EQ(KindForType("character varying(255)"), ColumnKind::Text);
  EXPECT_EQ(KindForType("timestamp(3) with time zone"), ColumnKind::TimestampTz);
  EXPECT_EQ(KindForType("timestamptz"), ColumnKind::TimestampTz);
  EXPECT_EQ(KindForType("timestamp without time zone"), ColumnKind::Timestamp);
  EXPECT_EQ(KindForType("date"), ColumnKind::Date);
  EXPECT_EQ(KindForType("jsonb"), ColumnKind::Json);
  EXPECT_EQ(KindForType("uuid"), ColumnKind::Uuid);
  EXPECT_EQ(KindForType("bytea"), ColumnKind::Bytes);
  EXPECT_EQ(KindForType("boolean"), ColumnKind::Bool);
  EXPECT_EQ(KindForType("integer[]"), ColumnKind::Unknown);
  EXPECT_EQ(KindForType("geometry"), ColumnKind::Unknown);
}

TEST(ToValue, NullIsNullForEveryKind) {
  for (auto kind : {ColumnKind::Unknown, ColumnKind::Int, ColumnKind::Text, ColumnKind::Json,
                    ColumnKind::TimestampTz}) {
    EXPECT_TRUE(V("null", kind).IsNull());
  }
}

TEST(ToValue, Integers) {
  EXPECT_EQ(V("42", ColumnKind::Int), Value(42));
  EXPECT_EQ(V("-9223372036854775808", ColumnKind::Int),
            Value(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(V("\"9007199254740993\"", ColumnKind::Int), Value(9007199254740993LL));  // > 2^53
  ExpectBad("9223372036854775808", ColumnKind::Int);
  ExpectBad("1.5", ColumnKind::Int);
  ExpectBad("\"12a\"", ColumnKind::Int);
  ExpectBad("true", ColumnKind::Int);
}

TEST(ToValue, FloatingAndNumeric) {
  EXPECT_EQ(V("1.5", ColumnKind::Double), Value(1.5));
  EXPECT_EQ(V("2", ColumnKind::Double), Value(2.0));
  EXPECT_TRUE(std::isnan(V("\"NaN\"", ColumnKind::Double).AsDouble()));
  EXPECT_EQ(V("\"-Infinity\"", ColumnKind::Double),
            Value(-std::numeric_limits<double>::infinity()));
  ExpectBad("\"abc\"", ColumnKind::Double);
  EXPECT_EQ(V("\"12.50\"", ColumnKind::Numeric), Value::Numeric("12.50"));  // scale kept
  EXPECT_EQ(V("12", ColumnKind::Numeric), Value::Numeric("12"));
  EXPECT_EQ(V("12.5", ColumnKind::Numeric), Value::Numeric("12.5"));
  EXPECT_EQ(V("\"NaN\"", ColumnKind::Numeric), Value::Numeric("NaN"));
  ExpectBad("\"12,5\"", ColumnKind::Numeric);
  ExpectBad("\"\"", ColumnKind::Numeric);
}

TEST(ToValue, TextBoolUuidBytesJson) {
  EXPECT_EQ(V("\"héllo\"", ColumnKind::Text), Value("héllo"));
  ExpectBad("5", ColumnKind::Text);
  EXPECT_EQ(V("true", ColumnKind::Bool), Value(true));
  ExpectBad("\"true\"", ColumnKind::Bool);
  EXPECT_EQ(V("\"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\"", ColumnKind::Uuid),
            Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  ExpectBad("\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1\"", ColumnKind::Uuid);
  ExpectBad("\"a0eebc999c0b-4ef8-bb6d-6bb9bd380a11x\"", ColumnKind::Uuid);
  EXPECT_EQ(V("\"AAEC/w==\"", ColumnKind::Bytes), Value::Bytes(std::string("\x00\x01\x02\xff", 4)));
  EXPECT_EQ(V("\"aGk\"", ColumnKind::Bytes), Value::Bytes("hi"));  // unpadded
  EXPECT_EQ(V("\"\"", ColumnKind::Bytes), Value::Bytes(""));
  ExpectBad("\"a$==\"", ColumnKind::Bytes);
  ExpectBad("\"a\"", ColumnKind::Bytes);
  // The document is kept as canonical text: key order does not matter.
  EXPECT_EQ(V("{\"b\": 1, \"a\": [true, null]}", ColumnKind::Json),
            Value::Json("{\"a\":[true,null],\"b\":1}"));
  EXPECT_EQ(V("{\"a\":[true,null],\"b\":1}", ColumnKind::Json),
            V("{\"b\":1,\"a\":[true,null]}", ColumnKind::Json));
  EXPECT_EQ(V("\"text\"", ColumnKind::Json), Value::Json("\"text\""));
}

TEST(ToValue, DatesAndTimes) {
  EXPECT_EQ(V("\"1970-01-02\"", ColumnKind::Date), Value::Date(1));
  EXPECT_EQ(V("\"1969-12-31\"", ColumnKind::Date), Value::Date(-1));
  ExpectBad("\"2023-02-29\"", ColumnKind::Date);
  ExpectBad("\"2024-1-01\"", ColumnKind::Date);
  EXPECT_EQ(V("\"12:00:00.5\"", ColumnKind::Time), Value::Time(43'200'500'000LL));
  ExpectBad("\"25:00:00\"", ColumnKind::Time);
  EXPECT_EQ(V("\"2024-05-01T12:00:00.000001\"", ColumnKind::Timestamp),
            Value::Timestamp(1'714'564'800'000'001LL));
  EXPECT_EQ(V("\"2024-05-01 12:00:00\"", ColumnKind::Timestamp),
            Value::Timestamp(1'714'564'800'000'000LL));
  ExpectBad("\"2024-05-01T12:00:00Z\"", ColumnKind::Timestamp);  // no zone without time zone
  EXPECT_EQ(V("\"2024-05-01T12:00:00Z\"", ColumnKind::TimestampTz),
            Value::TimestampTz(1'714'564'800'000'000LL));
  // The same instant in other zones and spellings.
  EXPECT_EQ(V("\"2024-05-01T14:30:00+02:30\"", ColumnKind::TimestampTz),
            Value::TimestampTz(1'714'564'800'000'000LL));
  EXPECT_EQ(V("\"2024-05-01 07:00:00-05\"", ColumnKind::TimestampTz),
            Value::TimestampTz(1'714'564'800'000'000LL));
  EXPECT_EQ(V("\"2024-05-01T12:00:00.123456789Z\"", ColumnKind::TimestampTz),
            Value::TimestampTz(1'714'564'800'123'456LL));
  ExpectBad("\"2024-05-01T12:00:00\"", ColumnKind::TimestampTz);  // zone required
  ExpectBad("\"2024-05-01T12:00:00+2\"", ColumnKind::TimestampTz);
  ExpectBad("1714564800", ColumnKind::TimestampTz);
}

TEST(ToValue, UnknownTypesFollowTheJsonType) {
  EXPECT_EQ(V("true", ColumnKind::Unknown), Value(true));
  EXPECT_EQ(V("7", ColumnKind::Unknown), Value(7));
  EXPECT_EQ(V("7.25", ColumnKind::Unknown), Value(7.25));
  EXPECT_EQ(V("\"x\"", ColumnKind::Unknown), Value("x"));
  EXPECT_EQ(V("[1,2]", ColumnKind::Unknown), Value::Json("[1,2]"));
  EXPECT_EQ(V("18446744073709551615", ColumnKind::Unknown), Value::Numeric("18446744073709551615"));
}

}  // namespace
}  // namespace laredo::kinesis::contract
