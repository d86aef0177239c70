#include "laredo/value.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo {
namespace {

[[noreturn]] void WrongType(Value::Kind wanted, Value::Kind actual) {
  throw Error(codes::kWrongType,
              fmt::format("value is {}, not {}", KindName(actual), KindName(wanted)));
}

// Proleptic Gregorian calendar over the whole int64 day range. std::chrono::year stops at +-32767,
// but PostgreSQL dates reach year 5874897, so the civil date is computed by era arithmetic: an era
// is 400 years = 146097 days, and a year is taken to start on March 1 so leap days come last.
std::string FormatDate(std::int64_t days) {
  const std::int64_t z = days + 719468;  // days since 0000-03-01
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;                                       // [0, 146096]
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const std::int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return fmt::format("{}{:04}-{:02}-{:02}", year < 0 ? "-" : "", year < 0 ? -year : year, month,
                     day);
}

std::string FormatTimeOfDay(std::int64_t micros) {
  const std::int64_t secs = micros / 1'000'000;
  const std::int64_t frac = micros % 1'000'000;
  std::string out = fmt::format("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
  if (frac != 0) out += fmt::format(".{:06}", frac);
  return out;
}

std::string FormatTimestamp(std::int64_t micros, bool utc) {
  // PostgreSQL keeps +-infinity as the extreme int64 values; print them the same way.
  if (micros == std::numeric_limits<std::int64_t>::max()) return "infinity";
  if (micros == std::numeric_limits<std::int64_t>::min()) return "-infinity";
  constexpr std::int64_t kDay = 86'400'000'000LL;
  std::int64_t days = micros / kDay;
  std::int64_t rest = micros % kDay;
  if (rest < 0) {
    rest += kDay;
    --days;
  }
  return FormatDate(days) + "T" + FormatTimeOfDay(rest) + (utc ? "Z" : "");
}

}  // namespace

std::string_view KindName(Value::Kind kind) noexcept {
  switch (kind) {
    case Value::Kind::Null:
      return "Null";
    case Value::Kind::Unchanged:
      return "Unchanged";
    case Value::Kind::Bool:
      return "Bool";
    case Value::Kind::Int:
      return "Int";
    case Value::Kind::Double:
      return "Double";
    case Value::Kind::Text:
      return "Text";
    case Value::Kind::Bytes:
      return "Bytes";
    case Value::Kind::Numeric:
      return "Numeric";
    case Value::Kind::Json:
      return "Json";
    case Value::Kind::Uuid:
      return "Uuid";
    case Value::Kind::Date:
      return "Date";
    case Value::Kind::Time:
      return "Time";
    case Value::Kind::Timestamp:
      return "Timestamp";
    case Value::Kind::TimestampTz:
      return "TimestampTz";
  }
  return "?";
}

Value Value::FromInt(Kind kind, std::int64_t payload) {
  switch (kind) {
    case Kind::Int:
    case Kind::Date:
    case Kind::Time:
    case Kind::Timestamp:
    case Kind::TimestampTz:
      return Value(kind, payload);
    default:
      throw Error(codes::kWrongType, fmt::format("{} does not hold an integer", KindName(kind)));
  }
}

void Value::AssignString(Kind kind, std::string_view payload) {
  switch (kind) {
    case Kind::Text:
    case Kind::Bytes:
    case Kind::Numeric:
    case Kind::Json:
    case Kind::Uuid:
      break;
    default:
      throw Error(codes::kWrongType, fmt::format("{} does not hold a string", KindName(kind)));
  }
  if (auto* s = std::get_if<std::string>(&data_)) {
    s->assign(payload);
  } else {
    data_.emplace<std::string>(payload);
  }
  kind_ = kind;
}

Value Value::FromString(Kind kind, std::string payload) {
  switch (kind) {
    case Kind::Text:
    case Kind::Bytes:
    case Kind::Numeric:
    case Kind::Json:
    case Kind::Uuid:
      return Value(kind, std::move(payload));
    default:
      throw Error(codes::kWrongType, fmt::format("{} does not hold a string", KindName(kind)));
  }
}

bool Value::AsBool() const {
  if (kind_ != Kind::Bool) WrongType(Kind::Bool, kind_);
  return std::get<bool>(data_);
}

std::int64_t Value::AsInt() const {
  if (kind_ != Kind::Int) WrongType(Kind::Int, kind_);
  return std::get<std::int64_t>(data_);
}

double Value::AsDouble() const {
  if (kind_ != Kind::Double) WrongType(Kind::Double, kind_);
  return std::get<double>(data_);
}

#define LAREDO_STRING_ACCESSOR(Method, KindValue)                    \
  const std::string& Value::Method() const {                         \
    if (kind_ != Kind::KindValue) WrongType(Kind::KindValue, kind_); \
    return std::get<std::string>(data_);                             \
  }
LAREDO_STRING_ACCESSOR(AsText, Text)
LAREDO_STRING_ACCESSOR(AsBytes, Bytes)
LAREDO_STRING_ACCESSOR(AsNumeric, Numeric)
LAREDO_STRING_ACCESSOR(AsJson, Json)
LAREDO_STRING_ACCESSOR(AsUuid, Uuid)
#undef LAREDO_STRING_ACCESSOR

std::int64_t Value::AsDate() const {
  if (kind_ != Kind::Date) WrongType(Kind::Date, kind_);
  return std::get<std::int64_t>(data_);
}

std::int64_t Value::AsTime() const {
  if (kind_ != Kind::Time) WrongType(Kind::Time, kind_);
  return std::get<std::int64_t>(data_);
}

Value::Micros Value::AsTimestamp() const {
  if (kind_ != Kind::Timestamp) WrongType(Kind::Timestamp, kind_);
  return Micros{std::chrono::microseconds{std::get<std::int64_t>(data_)}};
}

Value::Micros Value::AsTimestampTz() const {
  if (kind_ != Kind::TimestampTz) WrongType(Kind::TimestampTz, kind_);
  return Micros{std::chrono::microseconds{std::get<std::int64_t>(data_)}};
}

const std::string& Value::StringPayload() const {
  if (!HoldsString()) WrongType(Kind::Text, kind_);
  return std::get<std::string>(data_);
}

std::int64_t Value::IntPayload() const {
  if (!HoldsInt()) WrongType(Kind::Int, kind_);
  return std::get<std::int64_t>(data_);
}

std::string Value::ToString() const {
  switch (kind_) {
    case Kind::Null:
      return "NULL";
    case Kind::Unchanged:
      return "<unchanged>";
    case Kind::Bool:
      return std::get<bool>(data_) ? "true" : "false";
    case Kind::Int:
      return std::to_string(std::get<std::int64_t>(data_));
    case Kind::Double: {
      const double d = std::get<double>(data_);
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return fmt::format("{}", d);
    }
    case Kind::Bytes: {
      const auto& s = std::get<std::string>(data_);
      std::string out = "\\x";
      out.reserve(2 + s.size() * 2);
      for (unsigned char c : s) out += fmt::format("{:02x}", c);
      return out;
    }
    case Kind::Text:
    case Kind::Numeric:
    case Kind::Json:
    case Kind::Uuid:
      return std::get<std::string>(data_);
    case Kind::Date: {
      const auto days = std::get<std::int64_t>(data_);
      if (days == std::numeric_limits<std::int32_t>::max()) return "infinity";
      if (days == std::numeric_limits<std::int32_t>::min()) return "-infinity";
      return FormatDate(days);
    }
    case Kind::Time:
      return FormatTimeOfDay(std::get<std::int64_t>(data_));
    case Kind::Timestamp:
      return FormatTimestamp(std::get<std::int64_t>(data_), false);
    case Kind::TimestampTz:
      return FormatTimestamp(std::get<std::int64_t>(data_), true);
  }
  return "?";
}

}  // namespace laredo
