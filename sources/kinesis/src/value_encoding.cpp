// Value -> the contract's JSON: the inverse of value_mapping.cpp's `ToValue`, kept next to it so
// that the publisher writes exactly what the consumer reads.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "base64.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "value_mapping.hpp"

namespace laredo::kinesis::contract {
namespace {

using nlohmann::json;

constexpr std::int64_t kMicrosPerDay = 86'400'000'000LL;
// Integers beyond this lose precision in readers that hold numbers as doubles (JavaScript).
constexpr std::int64_t kMaxSafeInteger = (1LL << 53);

[[noreturn]] void Unencodable(const std::string& message) {
  throw DataError(codes::kUnencodableValue, message);
}

// Floor division, so that instants before 1970 split into the right day and time of day.
std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// ".ffffff" without trailing zeros, or "" for a whole second.
std::string Fraction(std::int64_t micros) {
  if (micros == 0) return {};
  std::string digits = fmt::format("{:06d}", micros);
  while (digits.back() == '0') digits.pop_back();
  return "." + digits;
}

std::string TimeOfDay(std::int64_t micros) {
  const std::int64_t seconds = micros / 1'000'000;
  return fmt::format("{:02d}:{:02d}:{:02d}{}", seconds / 3600, seconds / 60 % 60, seconds % 60,
                     Fraction(micros % 1'000'000));
}

// The contract's kind for each value kind; a known column takes only its own.
ColumnKind KindOf(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::Bool:
      return ColumnKind::Bool;
    case Value::Kind::Int:
      return ColumnKind::Int;
    case Value::Kind::Double:
      return ColumnKind::Double;
    case Value::Kind::Text:
      return ColumnKind::Text;
    case Value::Kind::Bytes:
      return ColumnKind::Bytes;
    case Value::Kind::Numeric:
      return ColumnKind::Numeric;
    case Value::Kind::Json:
      return ColumnKind::Json;
    case Value::Kind::Uuid:
      return ColumnKind::Uuid;
    case Value::Kind::Date:
      return ColumnKind::Date;
    case Value::Kind::Time:
      return ColumnKind::Time;
    case Value::Kind::Timestamp:
      return ColumnKind::Timestamp;
    case Value::Kind::TimestampTz:
      return ColumnKind::TimestampTz;
    case Value::Kind::Null:
    case Value::Kind::Unchanged:
      break;
  }
  return ColumnKind::Unknown;
}

json DoubleJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

}  // namespace

std::string FormatDate(std::int64_t days) {
  if (days == std::numeric_limits<std::int32_t>::max()) return "infinity";
  if (days == std::numeric_limits<std::int32_t>::min()) return "-infinity";
  // Outside these days the year needs more than four digits, which the contract cannot hold.
  constexpr std::int64_t kFirst = -719'528;  // 0000-01-01
  constexpr std::int64_t kLast = 2'932'896;  // 9999-12-31
  if (days < kFirst || days > kLast) {
    Unencodable(fmt::format("date {} days from 1970-01-01 is outside years 0000-9999", days));
  }
  const std::chrono::year_month_day ymd{
      std::chrono::sys_days{std::chrono::days{static_cast<int>(days)}}};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::string FormatTime(std::int64_t micros) {
  if (micros < 0 || micros > kMicrosPerDay) {
    Unencodable(fmt::format("time of day {} us is outside 00:00:00-24:00:00", micros));
  }
  return TimeOfDay(micros);
}

std::string FormatTimestamp(std::int64_t micros, bool with_zone) {
  if (micros == std::numeric_limits<std::int64_t>::max()) return "infinity";
  if (micros == std::numeric_limits<std::int64_t>::min()) return "-infinity";
  const std::int64_t days = FloorDiv(micros, kMicrosPerDay);
  return fmt::format("{}T{}{}", FormatDate(days), TimeOfDay(micros - days * kMicrosPerDay),
                     with_zone ? "Z" : "");
}

json FromValue(const Value& value, ColumnKind kind) {
  if (value.IsNull()) return nullptr;
  if (value.IsUnchanged()) Unencodable("an unchanged (TOAST) marker has no JSON form");
  if (kind != ColumnKind::Unknown && KindOf(value.kind()) != kind) {
    Unencodable(
        fmt::format("a {} value does not fit the column's type (it would read back as "
                    "another kind)",
                    KindName(value.kind())));
  }
  switch (value.kind()) {
    case Value::Kind::Bool:
      return value.AsBool();
    case Value::Kind::Int: {
      const std::int64_t v = value.AsInt();
      if (kind == ColumnKind::Int && (v > kMaxSafeInteger || v < -kMaxSafeInteger)) {
        return std::to_string(v);
      }
      return v;
    }
    case Value::Kind::Double:
      return DoubleJson(value.AsDouble());
    case Value::Kind::Text:
    case Value::Kind::Numeric:
    case Value::Kind::Uuid:
      return value.StringPayload();
    case Value::Kind::Bytes:
      return base64::Encode(value.AsBytes());
    case Value::Kind::Json: {
      json document = json::parse(value.AsJson(), nullptr, false);
      if (document.is_discarded()) Unencodable("the JSON value is not a JSON document");
      return document;
    }
    case Value::Kind::Date:
      return FormatDate(value.AsDate());
    case Value::Kind::Time:
      return FormatTime(value.AsTime());
    case Value::Kind::Timestamp:
      return FormatTimestamp(value.IntPayload(), false);
    case Value::Kind::TimestampTz:
      return FormatTimestamp(value.IntPayload(), true);
    case Value::Kind::Null:
    case Value::Kind::Unchanged:
      break;
  }
  return nullptr;
}

}  // namespace laredo::kinesis::contract
