#include "type_mapping.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <system_error>

#include "datetime_text.hpp"
#include "hex.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

[[noreturn]] void BadValue(std::uint32_t type_oid, std::string_view text, std::string_view why) {
  constexpr std::size_t kShown = 64;
  const bool cut = text.size() > kShown;
  throw DataError(codes::kBadValue, fmt::format("invalid {} value \"{}{}\": {}", TypeName(type_oid),
                                                text.substr(0, kShown), cut ? "..." : "", why));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool ParseBool(std::string_view s) {
  if (s == "t" || s == "true") return true;
  if (s == "f" || s == "false") return false;
  throw InvalidText{"expected t or f"};
}

std::int64_t ParseInt(std::string_view s, std::int64_t min, std::int64_t max) {
  std::int64_t v = 0;
  const auto* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec == std::errc::result_out_of_range) throw InvalidText{"out of range"};
  if (ec != std::errc() || ptr != end) throw InvalidText{"not an integer"};
  if (v < min || v > max) throw InvalidText{"out of range"};
  return v;
}

template <class Float>
double ParseFloat(std::string_view s) {
  // PostgreSQL's spellings of the special values; from_chars's own ("inf", "nan") are not what
  // the server writes, so they are rejected below with everything else that starts with a letter.
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity") return std::numeric_limits<double>::infinity();
  if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  const auto digits = s.starts_with('-') ? s.substr(1) : s;
  if (digits.empty() || !(IsDigit(digits.front()) || digits.front() == '.')) {
    throw InvalidText{"not a number"};
  }
  Float v = 0;
  const auto* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec == std::errc::result_out_of_range) throw InvalidText{"out of range"};
  if (ec != std::errc() || ptr != end) throw InvalidText{"not a number"};
  return static_cast<double>(v);
}

void CheckNumeric(std::string_view s) {
  if (s == "NaN" || s == "Infinity" || s == "-Infinity") return;
  if (s.starts_with('-')) s.remove_prefix(1);
  const auto dot = s.find('.');
  const auto int_part = s.substr(0, dot);
  const auto frac_part = dot == std::string_view::npos ? std::string_view("0") : s.substr(dot + 1);
  const auto all_digits = [](std::string_view p) {
    if (p.empty()) return false;
    for (const char c : p) {
      if (!IsDigit(c)) return false;
    }
    return true;
  };
  if (!all_digits(int_part) || !all_digits(frac_part)) throw InvalidText{"not a decimal number"};
}

std::string ParseUuid(std::string_view s) {
  if (s.size() != 36) throw InvalidText{"expected 36 characters"};
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position) {
      if (out[i] != '-') throw InvalidText{"expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"};
    } else if (HexValue(out[i]) < 0) {
      throw InvalidText{"not a hex digit"};
    } else if (out[i] >= 'A' && out[i] <= 'F') {
      out[i] = static_cast<char>(out[i] - 'A' + 'a');
    }
  }
  return out;
}

std::string ParseBytea(std::string_view s) {
  std::string out;
  if (s.starts_with("\\x")) {
    s.remove_prefix(2);
    if (s.size() % 2 != 0) throw InvalidText{"odd number of hex digits"};
    out.reserve(s.size() / 2);
    for (std::size_t i = 0; i < s.size(); i += 2) {
      const int hi = HexValue(s[i]);
      const int lo = HexValue(s[i + 1]);
      if (hi < 0 || lo < 0) throw InvalidText{"not a hex digit"};
      out += static_cast<char>(hi * 16 + lo);
    }
    return out;
  }
  // bytea_output=escape: "\\" is a backslash, "\ooo" an octal byte, anything else itself.
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
    } else if (i + 1 < s.size() && s[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else if (i + 3 < s.size()) {
      int value = 0;
      for (std::size_t k = 1; k <= 3; ++k) {
        const char c = s[i + k];
        if (c < '0' || c > '7') throw InvalidText{"bad escape"};
        value = value * 8 + (c - '0');
      }
      if (value > 0377) throw InvalidText{"bad escape"};
      out += static_cast<char>(value);
      i += 3;
    } else {
      throw InvalidText{"bad escape"};
    }
  }
  return out;
}

}  // namespace

std::string TypeName(std::uint32_t type_oid) {
  switch (type_oid) {
    case oid::kBool:
      return "bool";
    case oid::kBytea:
      return "bytea";
    case oid::kChar:
      return "char";
    case oid::kName:
      return "name";
    case oid::kInt8:
      return "int8";
    case oid::kInt2:
      return "int2";
    case oid::kInt4:
      return "int4";
    case oid::kText:
      return "text";
    case oid::kOid:
      return "oid";
    case oid::kJson:
      return "json";
    case oid::kFloat4:
      return "float4";
    case oid::kFloat8:
      return "float8";
    case oid::kUnknown:
      return "unknown";
    case oid::kBpchar:
      return "bpchar";
    case oid::kVarchar:
      return "varchar";
    case oid::kDate:
      return "date";
    case oid::kTime:
      return "time";
    case oid::kTimestamp:
      return "timestamp";
    case oid::kTimestampTz:
      return "timestamptz";
    case oid::kNumeric:
      return "numeric";
    case oid::kUuid:
      return "uuid";
    case oid::kJsonb:
      return "jsonb";
    default:
      return fmt::format("oid {}", type_oid);
  }
}

bool IsMappedType(std::uint32_t type_oid) { return !TypeName(type_oid).starts_with("oid "); }

Value TextToValue(std::uint32_t type_oid, std::string_view text) {
  try {
    switch (type_oid) {
      case oid::kBool:
        return ParseBool(text);
      case oid::kInt2:
        return ParseInt(text, std::numeric_limits<std::int16_t>::min(),
                        std::numeric_limits<std::int16_t>::max());
      case oid::kInt4:
        return ParseInt(text, std::numeric_limits<std::int32_t>::min(),
                        std::numeric_limits<std::int32_t>::max());
      case oid::kInt8:
        return ParseInt(text, std::numeric_limits<std::int64_t>::min(),
                        std::numeric_limits<std::int64_t>::max());
      case oid::kOid:
        return ParseInt(text, 0, std::numeric_limits<std::uint32_t>::max());
      case oid::kFloat4:
        return ParseFloat<float>(text);
      case oid::kFloat8:
        return ParseFloat<double>(text);
      case oid::kNumeric:
        CheckNumeric(text);
        return Value::Numeric(std::string(text));
      case oid::kBytea:
        return Value::Bytes(ParseBytea(text));
      case oid::kUuid:
        return Value::Uuid(ParseUuid(text));
      case oid::kJson:
      case oid::kJsonb:
        return Value::Json(std::string(text));
      case oid::kDate:
        return ParseDateText(text);
      case oid::kTime:
        return ParseTimeText(text);
      case oid::kTimestamp:
        return ParseTimestampText(text, /*with_zone=*/false);
      case oid::kTimestampTz:
        return ParseTimestampText(text, /*with_zone=*/true);
      default:
        return Value(std::string(text));
    }
  } catch (const InvalidText& invalid) {
    BadValue(type_oid, text, invalid.why);
  }
}

}  // namespace laredo::pg
