#include "binary_datetime.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <limits>

namespace laredo::pg {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr std::int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr std::int64_t kMicrosPerDay = 24 * kMicrosPerHour;
// 2000-01-01 (PostgreSQL's epoch) in days since 1970-01-01.
constexpr std::int64_t kPgEpochDays = 10'957;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct Civil {
  std::int64_t year;  // astronomical: 0 is 1 BC
  int month;
  int day;
};

// Proleptic Gregorian date of `days` since 1970-01-01 (inverse of datetime_text's DaysFromCivil).
Civil CivilFromDays(std::int64_t days) {
  days += 719'468;
  const std::int64_t era = FloorDiv(days, 146'097);
  const std::int64_t doe = days - era * 146'097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const auto day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// "YYYY-MM-DD", the year zero-padded to 4 digits and as BC years count; true when BC.
bool AppendYmd(std::int64_t days_since_1970, std::string& out) {
  const auto c = CivilFromDays(days_since_1970);
  const bool bc = c.year <= 0;
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}", bc ? 1 - c.year : c.year, c.month,
                 c.day);
  return bc;
}

// "SS[.ffffff]" without trailing zeros in the fraction (AppendSeconds); both taken as absolute.
void AppendSeconds(std::int64_t seconds, std::int64_t micros, std::string& out) {
  fmt::format_to(std::back_inserter(out), "{:02}", std::abs(seconds));
  if (micros == 0) return;
  auto digits = fmt::format("{:06}", std::abs(micros));
  while (digits.back() == '0') digits.pop_back();
  out += '.';
  out += digits;
}

void AppendTimeOfDay(std::int64_t micros, std::string& out) {
  const std::int64_t hours = micros / kMicrosPerHour;
  const std::int64_t minutes = micros % kMicrosPerHour / kMicrosPerMinute;
  fmt::format_to(std::back_inserter(out), "{:02}:{:02}:", hours, minutes);
  AppendSeconds(micros % kMicrosPerMinute / kMicrosPerSecond, micros % kMicrosPerSecond, out);
}

// A UTC offset as EncodeTimezone writes it; `west_seconds` is PostgreSQL's sign (west positive).
void AppendZone(std::int64_t west_seconds, std::string& out) {
  const std::int64_t s = std::abs(west_seconds);
  out += west_seconds <= 0 ? '+' : '-';
  if (s % 60 != 0) {
    fmt::format_to(std::back_inserter(out), "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  } else if (s / 60 % 60 != 0) {
    fmt::format_to(std::back_inserter(out), "{:02}:{:02}", s / 3600, s / 60 % 60);
  } else {
    fmt::format_to(std::back_inserter(out), "{:02}", s / 3600);
  }
}

void AppendTimeTz(BinaryReader& in, std::string& out) {
  const auto micros = in.I64("Int64 time of day");
  const auto zone = in.I32("Int32 zone");
  if (micros < 0 || micros > kMicrosPerDay) throw InvalidBinary{"time of day out of range"};
  constexpr std::int32_t kMaxZone = 15 * 3600 + 59 * 60 + 59;
  if (zone < -kMaxZone || zone > kMaxZone) throw InvalidBinary{"time zone out of range"};
  AppendTimeOfDay(micros, out);
  AppendZone(zone, out);
}

// IntervalStyle=postgres: "1 year 2 mons -3 days +04:05:06.5" (EncodeInterval).
void AppendInterval(BinaryReader& in, std::string& out) {
  const auto time = in.I64("Int64 microseconds");
  const auto days = in.I32("Int32 days");
  const auto months = in.I32("Int32 months");
  // PostgreSQL 17's infinite intervals: every field at its extreme.
  constexpr auto kMax32 = std::numeric_limits<std::int32_t>::max();
  constexpr auto kMin32 = std::numeric_limits<std::int32_t>::min();
  if (time == std::numeric_limits<std::int64_t>::max() && days == kMax32 && months == kMax32) {
    out += "infinity";
    return;
  }
  if (time == std::numeric_limits<std::int64_t>::min() && days == kMin32 && months == kMin32) {
    out += "-infinity";
    return;
  }
  bool is_zero = true;
  bool is_before = false;
  const auto part = [&](std::int64_t value, std::string_view unit) {
    if (value == 0) return;
    fmt::format_to(std::back_inserter(out), "{}{}{} {}{}", is_zero ? "" : " ",
                   is_before && value > 0 ? "+" : "", value, unit, value != 1 ? "s" : "");
    is_before = value < 0;
    is_zero = false;
  };
  part(months / 12, "year");
  part(months % 12, "mon");
  part(days, "day");
  const std::int64_t hours = time / kMicrosPerHour;
  const std::int64_t minutes = time % kMicrosPerHour / kMicrosPerMinute;
  const std::int64_t seconds = time % kMicrosPerMinute / kMicrosPerSecond;
  const std::int64_t micros = time % kMicrosPerSecond;
  if (is_zero || time != 0) {
    const bool minus = hours < 0 || minutes < 0 || seconds < 0 || micros < 0;
    // std::abs of INT64_MIN / kMicrosPerHour is fine: the quotient is far from the limit.
    fmt::format_to(std::back_inserter(out), "{}{}{:02}:{:02}:", is_zero ? "" : " ",
                   minus ? "-" : (is_before ? "+" : ""), std::abs(hours), std::abs(minutes));
    AppendSeconds(seconds, micros, out);
  }
}

}  // namespace

void AppendDateText(std::int32_t pg_days, std::string& out) {
  if (pg_days == std::numeric_limits<std::int32_t>::max()) {
    out += "infinity";
  } else if (pg_days == std::numeric_limits<std::int32_t>::min()) {
    out += "-infinity";
  } else if (AppendYmd(std::int64_t{pg_days} + kPgEpochDays, out)) {
    out += " BC";
  }
}

void AppendTimeText(std::int64_t micros, std::string& out) {
  if (micros < 0 || micros > kMicrosPerDay) throw InvalidBinary{"time of day out of range"};
  AppendTimeOfDay(micros, out);
}

void AppendTimestampText(std::int64_t pg_micros, bool with_zone, std::string& out) {
  if (pg_micros == std::numeric_limits<std::int64_t>::max()) {
    out += "infinity";
    return;
  }
  if (pg_micros == std::numeric_limits<std::int64_t>::min()) {
    out += "-infinity";
    return;
  }
  const std::int64_t days = FloorDiv(pg_micros, kMicrosPerDay);
  const bool bc = AppendYmd(days + kPgEpochDays, out);
  out += ' ';
  AppendTimeOfDay(pg_micros - days * kMicrosPerDay, out);
  if (with_zone) out += "+00";
  if (bc) out += " BC";
}

void AppendIntervalText(std::string_view bytes, std::string& out) {
  BinaryReader in(bytes);
  AppendInterval(in, out);
  in.ExpectEnd();
}

void AppendTimeTzText(std::string_view bytes, std::string& out) {
  BinaryReader in(bytes);
  AppendTimeTz(in, out);
  in.ExpectEnd();
}

}  // namespace laredo::pg
