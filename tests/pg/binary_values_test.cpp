#include "binary_values.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "message_builder.hpp"
#include "type_mapping.hpp"

namespace laredo::pg {
namespace {

using testing::MessageBuilder;

constexpr std::uint32_t kInterval = 1186;
constexpr std::uint32_t kTimeTz = 1266;
constexpr std::int64_t kDayMicros = 86'400'000'000;

std::string Bytes(const MessageBuilder& b) {
  const auto& v = b.bytes();
  return {reinterpret_cast<const char*>(v.data()), v.size()};  // NOLINT: byte view
}

BinaryType Scalar(std::uint32_t type_oid) { return *BuiltinBinaryType(type_oid); }

Value Decode(std::uint32_t type_oid, const MessageBuilder& b) {
  return BinaryToValue(Scalar(type_oid), Bytes(b));
}

// Binary and text forms of one value give the same Value (the text being the server's output).
void ExpectSame(std::uint32_t type_oid, const MessageBuilder& b, std::string_view text) {
  EXPECT_EQ(Decode(type_oid, b), TextToValue(type_oid, text)) << TypeName(type_oid) << " " << text;
}

void ExpectInvalid(const BinaryType& type, std::string_view bytes) {
  EXPECT_THROW(BinaryToValue(type, bytes), InvalidBinary)
      << BinaryTypeName(type) << " accepted " << bytes.size() << " bytes";
}

MessageBuilder Numeric(std::int16_t weight, std::uint16_t sign, std::uint16_t dscale,
                       const std::vector<std::uint16_t>& digits) {
  MessageBuilder b;
  b.U16(static_cast<std::uint16_t>(digits.size()))
      .U16(static_cast<std::uint16_t>(weight))
      .U16(sign)
      .U16(dscale);
  for (const auto d : digits) b.U16(d);
  return b;
}

TEST(BinaryValuesTest, Integers) {
  ExpectSame(oid::kInt2, MessageBuilder().U16(0x8000), "-32768");
  ExpectSame(oid::kInt2, MessageBuilder().U16(0x7FFF), "32767");
  ExpectSame(oid::kInt4, MessageBuilder().U32(0x80000000), "-2147483648");
  ExpectSame(oid::kInt4, MessageBuilder().U32(0xFFFFFFFF), "-1");
  ExpectSame(oid::kInt8, MessageBuilder().U64(0x8000000000000000), "-9223372036854775808");
  ExpectSame(oid::kInt8, MessageBuilder().U64(0x7FFFFFFFFFFFFFFF), "9223372036854775807");
  ExpectSame(oid::kOid, MessageBuilder().U32(0xFFFFFFFF), "4294967295");
  ExpectSame(oid::kBool, MessageBuilder().U8(1), "t");
  ExpectSame(oid::kBool, MessageBuilder().U8(0), "f");
  // Exactly the type's width: a byte short or over is malformed.
  ExpectInvalid(Scalar(oid::kInt4), Bytes(MessageBuilder().U16(1)));
  ExpectInvalid(Scalar(oid::kInt4), Bytes(MessageBuilder().U32(1).U8(0)));
  ExpectInvalid(Scalar(oid::kInt8), Bytes(MessageBuilder().U32(1)));
  ExpectInvalid(Scalar(oid::kInt2), "");
  ExpectInvalid(Scalar(oid::kBool), "");
}

TEST(BinaryValuesTest, Floats) {
  ExpectSame(oid::kFloat8, MessageBuilder().U64(std::bit_cast<std::uint64_t>(0.1)), "0.1");
  ExpectSame(oid::kFloat8, MessageBuilder().U64(std::bit_cast<std::uint64_t>(-0.0)), "-0");
  ExpectSame(oid::kFloat4, MessageBuilder().U32(std::bit_cast<std::uint32_t>(0.1F)), "0.1");
  ExpectSame(oid::kFloat8, MessageBuilder().U64(0x7FF0000000000000), "Infinity");
  ExpectSame(oid::kFloat8, MessageBuilder().U64(0xFFF0000000000000), "-Infinity");
  const auto nan = Decode(oid::kFloat8, MessageBuilder().U64(0x7FF8000000000001));
  EXPECT_TRUE(std::isnan(nan.AsDouble()));
  ExpectInvalid(Scalar(oid::kFloat4), Bytes(MessageBuilder().U64(0)));
}

TEST(BinaryValuesTest, FloatTextAsFloatOutWritesIt) {
  const auto text = [](double v, bool is_float4) {
    std::string out;
    AppendFloatText(v, is_float4, out);
    return out;
  };
  EXPECT_EQ(text(1e15, false), "1e+15");
  EXPECT_EQ(text(1e14, false), "100000000000000");
  EXPECT_EQ(text(0.0001, false), "0.0001");
  EXPECT_EQ(text(0.00001, false), "1e-05");
  EXPECT_EQ(text(1.5e300, false), "1.5e+300");
  EXPECT_EQ(text(123456.0, true), "123456");
  EXPECT_EQ(text(1234567.0, true), "1.234567e+06");
  EXPECT_EQ(text(static_cast<double>(0.1F), true), "0.1");
  EXPECT_EQ(text(-0.0, false), "-0");
}

TEST(BinaryValuesTest, Numeric) {
  ExpectSame(oid::kNumeric, Numeric(0, 0, 0, {}), "0");
  ExpectSame(oid::kNumeric, Numeric(0, 0, 2, {}), "0.00");
  ExpectSame(oid::kNumeric, Numeric(1, 0x4000, 3, {12, 3456, 7800}), "-123456.780");
  ExpectSame(oid::kNumeric, Numeric(-2, 0, 8, {12}), "0.00000012");
  // A weight beyond the digits: trailing zero groups (1e20 and 12e8).
  ExpectSame(oid::kNumeric, Numeric(5, 0, 0, {1}), "100000000000000000000");
  ExpectSame(oid::kNumeric, Numeric(2, 0, 0, {12}), "1200000000");
  // A display scale shorter than the digits' groups cuts the last group.
  ExpectSame(oid::kNumeric, Numeric(0, 0, 1, {1, 5000}), "1.5");
  ExpectSame(oid::kNumeric, Numeric(0, 0xC000, 0, {}), "NaN");
  ExpectSame(oid::kNumeric, Numeric(0, 0xD000, 0, {}), "Infinity");
  ExpectSame(oid::kNumeric, Numeric(0, 0xF000, 0, {}), "-Infinity");
  const auto numeric = Scalar(oid::kNumeric);
  ExpectInvalid(numeric, Bytes(Numeric(0, 0, 0, {10000})));   // digit out of range
  ExpectInvalid(numeric, Bytes(Numeric(0, 0x1234, 0, {1})));  // unknown sign
  ExpectInvalid(numeric, Bytes(Numeric(0, 0xC000, 0, {1})));  // NaN with digits
  ExpectInvalid(numeric, Bytes(MessageBuilder().U16(2).U16(0).U16(0).U16(0).U16(1)));  // short
  ExpectInvalid(numeric, Bytes(MessageBuilder().U16(0xFFFF).U16(0).U16(0).U16(0)));    // < 0
  ExpectInvalid(numeric, Bytes(MessageBuilder().U16(0)));
}

TEST(BinaryValuesTest, TextTypesKeepTheirBytes) {
  const std::string text = "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80";
  for (const auto type : {oid::kText, oid::kVarchar, oid::kBpchar, oid::kName}) {
    ExpectSame(type, MessageBuilder().Raw(text), text);
    ExpectSame(type, MessageBuilder(), "");
  }
  ExpectSame(oid::kJson, MessageBuilder().Raw("{\"a\": [1, 2]}"), "{\"a\": [1, 2]}");
  ExpectSame(oid::kJsonb, MessageBuilder().U8(1).Raw("{\"a\": 1}"), "{\"a\": 1}");
  ExpectInvalid(Scalar(oid::kJsonb), Bytes(MessageBuilder().U8(2).Raw("{}")));
  ExpectInvalid(Scalar(oid::kJsonb), "");
  ExpectSame(oid::kBytea, MessageBuilder().U8(0).U8(0xFF).Raw("\\"), "\\x00ff5c");
  ExpectSame(oid::kBytea, MessageBuilder(), "\\x");
  ExpectSame(oid::kUuid, MessageBuilder().U64(0x0123456789ABCDEF).U64(0xFEDCBA9876543210),
             "01234567-89ab-cdef-fedc-ba9876543210");
  ExpectInvalid(Scalar(oid::kUuid), Bytes(MessageBuilder().U64(1)));
  // "char": text mode keeps charout's text, \ooo for a high byte, empty for NUL.
  EXPECT_EQ(Decode(oid::kChar, MessageBuilder().Raw("a")), Value("a"));
  EXPECT_EQ(Decode(oid::kChar, MessageBuilder().U8(0xE9)), Value("\\351"));
  EXPECT_EQ(Decode(oid::kChar, MessageBuilder().U8(0)), Value(""));
}

TEST(BinaryValuesTest, DatesAndTimes) {
  ExpectSame(oid::kDate, MessageBuilder().I32(0), "2000-01-01");
  ExpectSame(oid::kDate, MessageBuilder().I32(-10957), "1970-01-01");
  ExpectSame(oid::kDate, MessageBuilder().I32(-2451545), "4714-11-24 BC");  // the first day
  ExpectSame(oid::kDate, MessageBuilder().I32(2147483647), "infinity");
  ExpectSame(oid::kDate, MessageBuilder().I32(-2147483647 - 1), "-infinity");
  ExpectSame(oid::kTime, MessageBuilder().U64(0), "00:00:00");
  ExpectSame(oid::kTime, MessageBuilder().U64(kDayMicros), "24:00:00");
  ExpectSame(oid::kTime, MessageBuilder().U64(45'296'000'001), "12:34:56.000001");
  ExpectInvalid(Scalar(oid::kTime), Bytes(MessageBuilder().U64(kDayMicros + 1)));
  ExpectInvalid(Scalar(oid::kTime), Bytes(MessageBuilder().U64(0xFFFFFFFFFFFFFFFF)));
  for (const auto type : {oid::kTimestamp, oid::kTimestampTz}) {
    const std::string zone = type == oid::kTimestampTz ? "+00" : "";
    ExpectSame(type, MessageBuilder().U64(0), "2000-01-01 00:00:00" + zone);
    ExpectSame(type, MessageBuilder().U64(static_cast<std::uint64_t>(-1)),
               "1999-12-31 23:59:59.999999" + zone);
    ExpectSame(type, MessageBuilder().U64(0x7FFFFFFFFFFFFFFF), "infinity");
    ExpectSame(type, MessageBuilder().U64(0x8000000000000000), "-infinity");
    // The last instant PostgreSQL has, past 64-bit microseconds since 1970: both give the
    // latest one before infinity.
    ExpectSame(type, MessageBuilder().U64(9'223'371'331'199'999'999),
               "294276-12-31 23:59:59.999999" + zone);
    ExpectSame(type, MessageBuilder().U64(static_cast<std::uint64_t>(-211'813'488'000'000'000)),
               "4714-11-24 00:00:00" + zone + " BC");
  }
  ExpectInvalid(Scalar(oid::kTimestamp), Bytes(MessageBuilder().U32(0)));
}

TEST(BinaryValuesTest, IntervalAndTimeTzAsTheServerWritesThem) {
  const auto interval = [](std::int64_t micros, std::int32_t days, std::int32_t months) {
    return Decode(kInterval,
                  MessageBuilder().U64(static_cast<std::uint64_t>(micros)).I32(days).I32(months))
        .AsText();
  };
  EXPECT_EQ(interval(0, 0, 0), "00:00:00");
  EXPECT_EQ(interval(0, 1, 14), "1 year 2 mons 1 day");
  EXPECT_EQ(interval(14'706'500'000, -3, 1), "1 mon -3 days +04:05:06.5");
  EXPECT_EQ(interval(-1'000'000, 0, -12), "-1 years -00:00:01");
  EXPECT_EQ(interval(360'000'000'000, 0, 0), "100:00:00");
  EXPECT_EQ(interval(-500'000, 0, 0), "-00:00:00.5");
  // PostgreSQL 17's infinite intervals.
  EXPECT_EQ(interval(std::numeric_limits<std::int64_t>::max(), 2147483647, 2147483647), "infinity");
  EXPECT_EQ(interval(std::numeric_limits<std::int64_t>::min(), -2147483647 - 1, -2147483647 - 1),
            "-infinity");
  const auto timetz = [](std::int64_t micros, std::int32_t zone) {
    return Decode(kTimeTz, MessageBuilder().U64(static_cast<std::uint64_t>(micros)).I32(zone))
        .AsText();
  };
  EXPECT_EQ(timetz(45'296'000'000, -7200), "12:34:56+02");
  EXPECT_EQ(timetz(0, 19'800 + 1), "00:00:00-05:30:01");
  EXPECT_EQ(timetz(0, -(5 * 3600 + 30 * 60)), "00:00:00+05:30");
  EXPECT_EQ(timetz(1, 0), "00:00:00.000001+00");
  ExpectInvalid(Scalar(kTimeTz), Bytes(MessageBuilder().U64(0).I32(16 * 3600)));
  ExpectInvalid(Scalar(kInterval), Bytes(MessageBuilder().U64(0).I32(0)));
}

MessageBuilder Array(std::uint32_t element,
                     const std::vector<std::pair<std::int32_t, std::int32_t>>& dims,
                     bool has_null) {
  MessageBuilder b;
  b.I32(static_cast<std::int32_t>(dims.size())).I32(has_null ? 1 : 0).U32(element);
  for (const auto& [n, lb] : dims) b.I32(n).I32(lb);
  return b;
}

TEST(BinaryValuesTest, ArraysAsArrayOutWritesThem) {
  const auto int4s = *BuiltinBinaryType(1007);
  auto b = Array(oid::kInt4, {{3, 1}}, true);
  b.I32(4).U32(1).I32(-1).I32(4).U32(0xFFFFFFFF);
  EXPECT_EQ(BinaryToValue(int4s, Bytes(b)), Value("{1,NULL,-1}"));
  EXPECT_EQ(BinaryToValue(int4s, Bytes(Array(oid::kInt4, {}, false))), Value("{}"));
  EXPECT_EQ(BinaryToValue(int4s, Bytes(Array(oid::kInt4, {{0, 1}}, false))), Value("{}"));

  // Quoted as array_out quotes: empty, NULL-like, specials, spaces; " and \ escaped.
  auto t = Array(oid::kText, {{7, 1}}, false);
  for (const std::string_view s : {"", "null", "a b", "x,y", "q\"\\", "{}", "\xc3\xa9t\xc3\xa9"}) {
    t.I32(static_cast<std::int32_t>(s.size())).Raw(s);
  }
  EXPECT_EQ(BinaryToValue(*BuiltinBinaryType(1009), Bytes(t)),
            Value("{\"\",\"null\",\"a b\",\"x,y\",\"q\\\"\\\\\",\"{}\",\xc3\xa9t\xc3\xa9}"));

  // Two dimensions, and bounds other than 1 written out.
  auto m = Array(oid::kInt4, {{2, 1}, {2, 1}}, false);
  for (std::uint32_t v = 1; v <= 4; ++v) m.I32(4).U32(v);
  EXPECT_EQ(BinaryToValue(int4s, Bytes(m)), Value("{{1,2},{3,4}}"));
  auto lb = Array(oid::kInt4, {{2, 0}}, false);
  lb.I32(4).U32(7).I32(4).U32(8);
  EXPECT_EQ(BinaryToValue(int4s, Bytes(lb)), Value("[0:1]={7,8}"));

  // Element formats: bytea quoted for its backslash, timestamps with their spaces.
  auto by = Array(oid::kBytea, {{1, 1}}, false);
  by.I32(2).U8(0xAB).U8(0x01);
  EXPECT_EQ(BinaryToValue(*BuiltinBinaryType(1001), Bytes(by)), Value("{\"\\\\xab01\"}"));
  auto ts = Array(oid::kTimestampTz, {{1, 1}}, false);
  ts.I32(8).U64(0);
  EXPECT_EQ(BinaryToValue(*BuiltinBinaryType(1185), Bytes(ts)),
            Value("{\"2000-01-01 00:00:00+00\"}"));
  const BinaryType enums{
      .kind = BinaryType::Kind::Array, .element_oid = 16400, .element_is_enum = true};
  auto e = Array(16400, {{2, 1}}, false);
  e.I32(3).Raw("red").I32(7).Raw("sky blu");
  EXPECT_EQ(BinaryToValue(enums, Bytes(e)), Value("{red,\"sky blu\"}"));
}

TEST(BinaryValuesTest, MalformedArraysAreRefused) {
  const auto int4s = *BuiltinBinaryType(1007);
  auto wrong_element = Array(oid::kInt8, {{1, 1}}, false);
  wrong_element.I32(8).U64(1);
  ExpectInvalid(int4s, Bytes(wrong_element));
  auto null_without_flag = Array(oid::kInt4, {{1, 1}}, false);
  null_without_flag.I32(-1);
  ExpectInvalid(int4s, Bytes(null_without_flag));
  auto truncated = Array(oid::kInt4, {{2, 1}}, false);
  truncated.I32(4).U32(1).I32(4);
  ExpectInvalid(int4s, Bytes(truncated));
  auto trailing = Array(oid::kInt4, {{1, 1}}, false);
  trailing.I32(4).U32(1).U8(0);
  ExpectInvalid(int4s, Bytes(trailing));
  auto bad_element = Array(oid::kInt4, {{1, 1}}, false);
  bad_element.I32(2).U16(1);
  ExpectInvalid(int4s, Bytes(bad_element));
  // Sizes whose product claims far more elements than bytes: refused before any allocation.
  ExpectInvalid(int4s, Bytes(Array(oid::kInt4, {{65536, 1}, {65536, 1}}, false)));
  ExpectInvalid(int4s, Bytes(Array(oid::kInt4, {{-1, 1}}, false)));
  auto too_deep = MessageBuilder().I32(7).I32(0).U32(oid::kInt4);
  ExpectInvalid(int4s, Bytes(too_deep));
  ExpectInvalid(int4s, Bytes(MessageBuilder().I32(1).I32(0)));
}

TEST(BinaryValuesTest, TypesWithoutDecoder) {
  EXPECT_FALSE(BuiltinBinaryType(600).has_value());  // point
  EXPECT_FALSE(BuiltinBinaryType(869).has_value());  // inet
  EXPECT_EQ(BuiltinBinaryType(1187)->scalar_oid, kInterval);
  EXPECT_THROW(BinaryToValue(BinaryType{}, "x"), InvalidBinary);
  // An enum is its label.
  EXPECT_EQ(BinaryToValue(BinaryType{.kind = BinaryType::Kind::Enum}, "happy"), Value("happy"));
}

}  // namespace
}  // namespace laredo::pg
