#include "value_mapping.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "base64.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::contract {
namespace {

using nlohmann::json;

[[noreturn]] void Mismatch(std::string_view expected, const json& found) {
  std::string shown = found.dump();
  if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
  throw DataError(codes::kBadRecord,
                  fmt::format("expected {}, got {} {}", expected, found.type_name(), shown));
}

[[noreturn]] void BadText(std::string_view what, std::string_view text) {
  throw DataError(codes::kBadRecord, fmt::format("'{}' is not a valid {}", text, what));
}

// Lower-case, modifiers such as "(10,2)" removed, white space collapsed.
std::string NormalizeType(std::string_view type_name) {
  std::string out;
  int depth = 0;
  bool space = false;
  for (const char ch : type_name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '(') ++depth;
    if (depth > 0) {
      if (c == ')') --depth;
      continue;
    }
    if (std::isspace(c) != 0) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<std::int64_t> DaysFromCivil(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || !Digits(s, 0, 4, y) || s[4] != '-' || !Digits(s, 5, 2, m) || s[7] != '-' ||
      !Digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{unsigned(m)},
                                        std::chrono::day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

// "HH:MM:SS[.f...]" at the start of `s`; returns micros and sets `used` to the characters read.
std::optional<std::int64_t> TimeOfDay(std::string_view s, std::size_t& used) {
  int h = 0, m = 0, sec = 0;
  if (!Digits(s, 0, 2, h) || s.size() < 8 || s[2] != ':' || !Digits(s, 3, 2, m) || s[5] != ':' ||
      !Digits(s, 6, 2, sec)) {
    return std::nullopt;
  }
  if (m > 59 || sec > 59 || h > 24 || (h == 24 && (m != 0 || sec != 0))) return std::nullopt;
  std::int64_t micros = ((h * 60LL + m) * 60LL + sec) * 1'000'000LL;
  used = 8;
  if (used < s.size() && s[used] == '.') {
    std::size_t i = used + 1;
    std::int64_t frac = 0;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 6) frac = frac * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (int k = digits; k < 6; ++k) frac *= 10;
    if (h == 24 && frac != 0) return std::nullopt;
    micros += frac;
    used = i;
  }
  return micros;
}

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string CanonicalUuid(std::string_view s) {
  if (s.size() != 36) BadText("uuid", s);
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? out[i] != '-' : !IsHex(out[i])) BadText("uuid", s);
    out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  }
  return out;
}

std::string DecodeBase64(std::string_view s) {
  try {
    return base64::Decode(s);
  } catch (const DataError&) {
    BadText("base64 string", s);
  }
}

bool IsNumericText(std::string_view s) {
  if (s == "NaN" || s == "Infinity" || s == "-Infinity") return true;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

Value IntValue(const json& j) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      Mismatch("a 64-bit integer", j);
    }
    return Value(static_cast<std::int64_t>(u));
  }
  if (j.is_number_integer()) return Value(j.get<std::int64_t>());
  if (j.is_string()) {
    // Producers in languages without 64-bit integers write large ones as decimal strings.
    const auto& s = j.get_ref<const std::string&>();
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return Value(v);
  }
  Mismatch("an integer", j);
}

Value DoubleValue(const json& j) {
  if (j.is_number()) return Value(j.get<double>());
  if (j.is_string()) {
    // JSON has no NaN or infinities; they arrive as PostgreSQL spells them.
    const auto& s = j.get_ref<const std::string&>();
    if (s == "NaN") return Value(std::numeric_limits<double>::quiet_NaN());
    if (s == "Infinity") return Value(std::numeric_limits<double>::infinity());
    if (s == "-Infinity") return Value(-std::numeric_limits<double>::infinity());
    if (IsNumericText(s)) {
      double v = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && end == s.data() + s.size()) return Value(v);
    }
  }
  Mismatch("a number", j);
}

Value NumericValue(const json& j) {
  if (j.is_number_integer() || j.is_number_unsigned()) return Value::Numeric(j.dump());
  if (j.is_number_float()) {
    // The shortest text that reads back as the same double; send strings to keep a scale.
    return Value::Numeric(j.dump());
  }
  if (j.is_string() && IsNumericText(j.get_ref<const std::string&>())) {
    return Value::Numeric(j.get<std::string>());
  }
  Mismatch("a decimal number or its text", j);
}

const std::string& StringOf(const json& j, std::string_view expected) {
  if (!j.is_string()) Mismatch(expected, j);
  return j.get_ref<const std::string&>();
}

Value Fallback(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return Value();
    case json::value_t::boolean:
      return Value(j.get<bool>());
    case json::value_t::number_integer:
      return Value(j.get<std::int64_t>());
    case json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Value::Numeric(j.dump());
      }
      return Value(static_cast<std::int64_t>(u));
    }
    case json::value_t::number_float:
      return Value(j.get<double>());
    case json::value_t::string:
      return Value(j.get<std::string>());
    default:
      return Value::Json(j.dump());
  }
}

}  // namespace

ColumnKind KindForType(std::string_view type_name) {
  static const std::array<std::pair<std::string_view, ColumnKind>, 44> kTypes{{
      {"smallint", ColumnKind::Int},
      {"integer", ColumnKind::Int},
      {"int", ColumnKind::Int},
      {"bigint", ColumnKind::Int},
      {"int2", ColumnKind::Int},
      {"int4", ColumnKind::Int},
      {"int8", ColumnKind::Int},
      {"tinyint", ColumnKind::Int},
      {"smallserial", ColumnKind::Int},
      {"serial", ColumnKind::Int},
      {"bigserial", ColumnKind::Int},
      {"real", ColumnKind::Double},
      {"float4", ColumnKind::Double},
      {"float8", ColumnKind::Double},
      {"float", ColumnKind::Double},
      {"double", ColumnKind::Double},
      {"double precision", ColumnKind::Double},
      {"numeric", ColumnKind::Numeric},
      {"decimal", ColumnKind::Numeric},
      {"boolean", ColumnKind::Bool},
      {"bool", ColumnKind::Bool},
      {"text", ColumnKind::Text},
      {"varchar", ColumnKind::Text},
      {"character varying", ColumnKind::Text},
      {"char", ColumnKind::Text},
      {"character", ColumnKind::Text},
      {"bpchar", ColumnKind::Text},
      {"citext", ColumnKind::Text},
      {"name", ColumnKind::Text},
      {"string", ColumnKind::Text},
      {"json", ColumnKind::Json},
      {"jsonb", ColumnKind::Json},
      {"uuid", ColumnKind::Uuid},
      {"bytea", ColumnKind::Bytes},
      {"binary", ColumnKind::Bytes},
      {"varbinary", ColumnKind::Bytes},
      {"date", ColumnKind::Date},
      {"time", ColumnKind::Time},
      {"time without time zone", ColumnKind::Time},
      {"timestamp", ColumnKind::Timestamp},
      {"timestamp without time zone", ColumnKind::Timestamp},
      {"datetime", ColumnKind::Timestamp},
      {"timestamptz", ColumnKind::TimestampTz},
      {"timestamp with time zone", ColumnKind::TimestampTz},
  }};
  const std::string normalized = NormalizeType(type_name);
  for (const auto& [name, kind] : kTypes) {
    if (name == normalized) return kind;
  }
  return ColumnKind::Unknown;
}

std::int64_t ParseDate(std::string_view text) {
  if (text == "infinity") return std::numeric_limits<std::int32_t>::max();
  if (text == "-infinity") return std::numeric_limits<std::int32_t>::min();
  const auto days = DaysFromCivil(text);
  if (!days) BadText("date (YYYY-MM-DD)", text);
  return *days;
}

std::int64_t ParseTime(std::string_view text) {
  std::size_t used = 0;
  const auto micros = TimeOfDay(text, used);
  if (!micros || used != text.size()) BadText("time (HH:MM:SS[.ffffff])", text);
  return *micros;
}

std::int64_t ParseTimestamp(std::string_view text, bool with_zone) {
  if (text == "infinity") return std::numeric_limits<std::int64_t>::max();
  if (text == "-infinity") return std::numeric_limits<std::int64_t>::min();
  const std::string_view what =
      with_zone ? "timestamp with time zone (RFC 3339, e.g. 2024-05-01T12:00:00.5Z)"
                : "timestamp without time zone (e.g. 2024-05-01T12:00:00.5)";
  if (text.size() < 19 || (text[10] != 'T' && text[10] != 't' && text[10] != ' ')) {
    BadText(what, text);
  }
  const auto days = DaysFromCivil(text.substr(0, 10));
  std::size_t used = 0;
  const auto time = TimeOfDay(text.substr(11), used);
  if (!days || !time) BadText(what, text);
  std::int64_t micros = *days * 86'400'000'000LL + *time;
  const std::string_view zone = text.substr(11 + used);
  if (!with_zone) {
    if (!zone.empty()) BadText(what, text);
    return micros;
  }
  if (zone == "Z" || zone == "z") return micros;
  int zh = 0, zm = 0;
  const bool ok = (zone.size() == 3 || zone.size() == 5 || zone.size() == 6) &&
                  (zone[0] == '+' || zone[0] == '-') && Digits(zone, 1, 2, zh) &&
                  (zone.size() == 3 || (zone.size() == 5 && Digits(zone, 3, 2, zm)) ||
                   (zone.size() == 6 && zone[3] == ':' && Digits(zone, 4, 2, zm)));
  if (!ok || zh > 23 || zm > 59) BadText(what, text);
  const std::int64_t offset = (zh * 60LL + zm) * 60'000'000LL;
  // Local time minus its offset is UTC.
  return zone[0] == '+' ? micros - offset : micros + offset;
}

std::chrono::system_clock::time_point ParseInstant(std::string_view text) {
  using Clock = std::chrono::system_clock;
  const std::int64_t micros = ParseTimestamp(text, true);
  constexpr auto kLimit =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::max()).count();
  if (micros > kLimit || micros < -kLimit) {
    throw DataError(codes::kBadRecord,
                    fmt::format("'{}' is out of range (years 1678 to 2262)", text));
  }
  return Clock::time_point{std::chrono::microseconds{micros}};
}

std::optional<Value> ValueFromJsonString(std::string text, ColumnKind kind) {
  switch (kind) {
    case ColumnKind::Unknown:
    case ColumnKind::Text:
      return Value(std::move(text));
    case ColumnKind::Int: {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) return Value(v);
      return std::nullopt;
    }
    case ColumnKind::Double: {
      if (text == "NaN") return Value(std::numeric_limits<double>::quiet_NaN());
      if (text == "Infinity") return Value(std::numeric_limits<double>::infinity());
      if (text == "-Infinity") return Value(-std::numeric_limits<double>::infinity());
      if (!IsNumericText(text)) return std::nullopt;
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc() && end == text.data() + text.size()) return Value(v);
      return std::nullopt;
    }
    case ColumnKind::Numeric:
      if (IsNumericText(text)) return Value::Numeric(std::move(text));
      return std::nullopt;
    case ColumnKind::Bool:
    case ColumnKind::Json:
      return std::nullopt;
    case ColumnKind::Uuid:
      return Value::Uuid(CanonicalUuid(text));
    case ColumnKind::Bytes:
      return Value::Bytes(DecodeBase64(text));
    case ColumnKind::Date:
      return Value::Date(ParseDate(text));
    case ColumnKind::Time:
      return Value::Time(ParseTime(text));
    case ColumnKind::Timestamp:
      return Value::Timestamp(ParseTimestamp(text, false));
    case ColumnKind::TimestampTz:
      return Value::TimestampTz(ParseTimestamp(text, true));
  }
  return std::nullopt;
}

Value ToValue(const json& j, ColumnKind kind) {
  if (j.is_null()) return Value();
  switch (kind) {
    case ColumnKind::Unknown:
      return Fallback(j);
    case ColumnKind::Int:
      return IntValue(j);
    case ColumnKind::Double:
      return DoubleValue(j);
    case ColumnKind::Numeric:
      return NumericValue(j);
    case ColumnKind::Bool:
      if (!j.is_boolean()) Mismatch("true or false", j);
      return Value(j.get<bool>());
    case ColumnKind::Text:
      return Value(StringOf(j, "a string"));
    case ColumnKind::Json:
      return Value::Json(j.dump());
    case ColumnKind::Uuid:
      return Value::Uuid(CanonicalUuid(StringOf(j, "a uuid string")));
    case ColumnKind::Bytes:
      return Value::Bytes(DecodeBase64(StringOf(j, "a base64 string")));
    case ColumnKind::Date:
      return Value::Date(ParseDate(StringOf(j, "a date string")));
    case ColumnKind::Time:
      return Value::Time(ParseTime(StringOf(j, "a time string")));
    case ColumnKind::Timestamp:
      return Value::Timestamp(ParseTimestamp(StringOf(j, "a timestamp string"), false));
    case ColumnKind::TimestampTz:
      return Value::TimestampTz(ParseTimestamp(StringOf(j, "a timestamp string"), true));
  }
  return Fallback(j);
}

}  // namespace laredo::kinesis::contract
