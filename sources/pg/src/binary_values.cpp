#include "binary_values.hpp"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <limits>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "type_mapping.hpp"

namespace laredo::pg {
namespace {

// 2000-01-01 (PostgreSQL's epoch) since 1970-01-01.
constexpr std::int64_t kPgEpochDays = 10'957;
constexpr std::int64_t kPgEpochMicros = kPgEpochDays * 86'400 * 1'000'000;

Value DateValue(std::int32_t pg_days) {
  constexpr auto kMax = std::numeric_limits<std::int32_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int32_t>::min();
  if (pg_days == kMax || pg_days == kMin) return Value::Date(pg_days);  // +-infinity
  const std::int64_t days = std::int64_t{pg_days} + kPgEpochDays;
  // PostgreSQL's dates end with 5874897 AD; anything beyond (or colliding with infinity) is no
  // date its send function writes.
  if (days >= kMax || days <= kMin) throw InvalidBinary{"date out of range"};
  return Value::Date(static_cast<std::int32_t>(days));
}

// As datetime_text's CheckedMicros: +-infinity at the extremes, an instant past 64-bit
// microseconds since 1970 (294247..294276 AD) as the latest one before infinity.
std::int64_t TimestampMicros(std::int64_t pg_micros) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  if (pg_micros == kMax || pg_micros == kMin) return pg_micros;
  std::int64_t v = 0;
  if (__builtin_add_overflow(pg_micros, kPgEpochMicros, &v) || v == kMax) return kMax - 1;
  return v;
}

double FloatValue(double v) {
  // One NaN, as text mode's parse gives.
  return std::isnan(v) ? std::numeric_limits<double>::quiet_NaN() : v;
}

Value ScalarValue(std::uint32_t type_oid, std::string_view bytes) {
  switch (type_oid) {
    case oid::kBool:
      if (bytes.size() != 1) throw InvalidBinary{"bool of other than one byte"};
      return bytes[0] != 0;
    case oid::kInt2:
      return std::int64_t{ReadExactly<std::int16_t>(bytes, "Int16")};
    case oid::kInt4:
      return std::int64_t{ReadExactly<std::int32_t>(bytes, "Int32")};
    case oid::kOid:
      return std::int64_t{ReadExactly<std::uint32_t>(bytes, "UInt32")};
    case oid::kInt8:
      return ReadExactly<std::int64_t>(bytes, "Int64");
    case oid::kFloat4:
      return FloatValue(std::bit_cast<float>(ReadExactly<std::uint32_t>(bytes, "float4")));
    case oid::kFloat8:
      return FloatValue(std::bit_cast<double>(ReadExactly<std::uint64_t>(bytes, "float8")));
    case oid::kNumeric: {
      std::string text;
      AppendNumericText(bytes, text);
      return Value::Numeric(std::move(text));
    }
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
      return Value(std::string(bytes));
    case oid::kBytea:
      return Value::Bytes(std::string(bytes));
    case oid::kJson:
      return Value::Json(std::string(bytes));
    case oid::kJsonb:
      if (bytes.empty() || bytes[0] != 1) throw InvalidBinary{"jsonb without version byte 1"};
      return Value::Json(std::string(bytes.substr(1)));
    case oid::kUuid: {
      std::string text;
      AppendScalarText(type_oid, bytes, text);
      return Value::Uuid(std::move(text));
    }
    case oid::kDate:
      return DateValue(ReadExactly<std::int32_t>(bytes, "Int32 date"));
    case oid::kTime: {
      const auto micros = ReadExactly<std::int64_t>(bytes, "Int64 time");
      if (micros < 0 || micros > std::int64_t{86'400'000'000}) {
        throw InvalidBinary{"time of day out of range"};
      }
      return Value::Time(micros);
    }
    case oid::kTimestamp:
      return Value::Timestamp(TimestampMicros(ReadExactly<std::int64_t>(bytes, "Int64 timestamp")));
    case oid::kTimestampTz:
      return Value::TimestampTz(
          TimestampMicros(ReadExactly<std::int64_t>(bytes, "Int64 timestamp")));
    default: {
      // interval, timetz, "char": text mode keeps their text.
      std::string text;
      AppendScalarText(type_oid, bytes, text);
      return Value(std::move(text));
    }
  }
}

// Built-in array types and their elements (pg_type.typarray of each decodable scalar).
struct ArrayOid {
  std::uint32_t array;
  std::uint32_t element;
};
constexpr ArrayOid kArrays[] = {
    {1000, oid::kBool},      {1001, oid::kBytea},       {1002, oid::kChar},   {1003, oid::kName},
    {1005, oid::kInt2},      {1007, oid::kInt4},        {1009, oid::kText},   {1014, oid::kBpchar},
    {1015, oid::kVarchar},   {1016, oid::kInt8},        {1021, oid::kFloat4}, {1022, oid::kFloat8},
    {1028, oid::kOid},       {199, oid::kJson},         {1182, oid::kDate},   {1183, oid::kTime},
    {1115, oid::kTimestamp}, {1185, oid::kTimestampTz}, {1187, 1186},         {1270, 1266},
    {1231, oid::kNumeric},   {2951, oid::kUuid},        {3807, oid::kJsonb},
};

}  // namespace

std::optional<BinaryType> BuiltinBinaryType(std::uint32_t type_oid) {
  if (HasBinaryDecoder(type_oid)) {
    return BinaryType{.kind = BinaryType::Kind::Scalar, .scalar_oid = type_oid};
  }
  for (const auto& a : kArrays) {
    if (a.array == type_oid) {
      return BinaryType{
          .kind = BinaryType::Kind::Array, .scalar_oid = a.element, .element_oid = a.element};
    }
  }
  return std::nullopt;
}

Value BinaryToValue(const BinaryType& type, std::string_view bytes) {
  switch (type.kind) {
    case BinaryType::Kind::Scalar:
      return ScalarValue(type.scalar_oid, bytes);
    case BinaryType::Kind::Enum:
      return Value(std::string(bytes));
    case BinaryType::Kind::Array:
      return Value(ArrayText(bytes, type.element_oid, type.scalar_oid, type.element_is_enum));
    case BinaryType::Kind::None:
      break;
  }
  throw InvalidBinary{"no binary decoder for this type"};
}

Value BinaryColumnValue(const BinaryType& type, std::string_view bytes,
                        const TableIdentifier& table, std::string_view column) {
  try {
    return BinaryToValue(type, bytes);
  } catch (const InvalidBinary& invalid) {
    throw DataError(codes::kBadValue,
                    fmt::format("{} column {}: invalid binary {} value: {}", table.ToString(),
                                column, BinaryTypeName(type), invalid.why));
  }
}

std::string BinaryTypeName(const BinaryType& type) {
  switch (type.kind) {
    case BinaryType::Kind::Scalar:
      return TypeName(type.scalar_oid);
    case BinaryType::Kind::Enum:
      return "enum";
    case BinaryType::Kind::Array:
      return (type.element_is_enum ? std::string("enum") : TypeName(type.scalar_oid)) + "[]";
    case BinaryType::Kind::None:
      break;
  }
  return "type without binary decoder";
}

}  // namespace laredo::pg
