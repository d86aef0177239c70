#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "laredo/value.hpp"

namespace laredo::pg {

/// Built-in type OIDs the mapping knows (pg_type.oid, stable across PostgreSQL versions).
namespace oid {
inline constexpr std::uint32_t kBool = 16;
inline constexpr std::uint32_t kBytea = 17;
inline constexpr std::uint32_t kChar = 18;
inline constexpr std::uint32_t kName = 19;
inline constexpr std::uint32_t kInt8 = 20;
inline constexpr std::uint32_t kInt2 = 21;
inline constexpr std::uint32_t kInt4 = 23;
inline constexpr std::uint32_t kText = 25;
inline constexpr std::uint32_t kOid = 26;
inline constexpr std::uint32_t kJson = 114;
inline constexpr std::uint32_t kFloat4 = 700;
inline constexpr std::uint32_t kFloat8 = 701;
inline constexpr std::uint32_t kUnknown = 705;
inline constexpr std::uint32_t kBpchar = 1042;
inline constexpr std::uint32_t kVarchar = 1043;
inline constexpr std::uint32_t kDate = 1082;
inline constexpr std::uint32_t kTime = 1083;
inline constexpr std::uint32_t kTimestamp = 1114;
inline constexpr std::uint32_t kTimestampTz = 1184;
inline constexpr std::uint32_t kNumeric = 1700;
inline constexpr std::uint32_t kUuid = 2950;
inline constexpr std::uint32_t kJsonb = 3802;
}  // namespace oid

/// Maps one value in PostgreSQL's text output format to a `laredo::Value`. The COPY baseline and
/// the replication stream both call this, so a row compares equal however it arrived (lesson 3).
///
/// Assumes the session settings the source sets: DateStyle=ISO, IntervalStyle=postgres,
/// bytea_output=hex (escape format is accepted too), extra_float_digits=1 or more.
///
/// bool -> Bool; int2/int4/int8/oid -> Int; float4/float8 -> Double (float4 parsed as a float,
/// so the Double is exactly the stored value); numeric -> Numeric (text kept exactly);
/// text/varchar/bpchar/name/"char" -> Text; bytea -> Bytes; uuid -> Uuid; json/jsonb -> Json;
/// date -> Date (days since 1970-01-01, +-infinity as INT32_MAX/INT32_MIN); time -> Time;
/// timestamp -> Timestamp and timestamptz -> TimestampTz (microseconds since 1970-01-01 UTC,
/// +-infinity as INT64_MAX/INT64_MIN; an instant after early 294247 AD, where 64-bit microseconds
/// end, as INT64_MAX - 1). Every other type (arrays, interval, timetz, inet, enums,
/// extension types) -> Text, unchanged. A domain must be resolved to its base type first (see
/// `TypeResolver`).
///
/// Throws `laredo::DataError` (code "bad_value") when the text is not a valid value of a typed
/// column, rather than return a wrong value.
Value TextToValue(std::uint32_t type_oid, std::string_view text);

/// Whether `TextToValue` has a typed mapping for `type_oid` (every other type becomes Text).
bool IsMappedType(std::uint32_t type_oid);

/// "int4", "timestamptz", ... for messages; "oid 16384" for types the mapping does not know.
std::string TypeName(std::uint32_t type_oid);

}  // namespace laredo::pg
