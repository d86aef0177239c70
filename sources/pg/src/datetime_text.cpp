#include "datetime_text.hpp"

#include <limits>
#include <optional>

namespace laredo::pg {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Days from 1970-01-01 to a proleptic Gregorian date (astronomical year: 1 BC is year 0).
// Works for any year, unlike std::chrono::year (limited to +-32767).
std::int64_t DaysFromCivil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::int64_t DaysInMonth(std::int64_t y, std::int64_t m) {
  constexpr std::int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];  // NOLINT: m checked to be 1..12
}

// A cursor over the fixed ISO layouts PostgreSQL writes.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  [[nodiscard]] bool AtEnd() const { return pos_ == s_.size(); }
  bool Peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool Accept(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool Accept(std::string_view text) {
    if (s_.substr(pos_).starts_with(text)) {
      pos_ += text.size();
      return true;
    }
    return false;
  }
  void Expect(char c, std::string_view why) {
    if (!Accept(c)) throw InvalidText{why};
  }
  // Between min_digits and max_digits decimal digits.
  std::int64_t Digits(std::size_t min_digits, std::size_t max_digits, std::string_view why) {
    std::int64_t v = 0;
    std::size_t n = 0;
    while (n < max_digits && pos_ < s_.size() && IsDigit(s_[pos_])) {
      v = v * 10 + (s_[pos_++] - '0');
      ++n;
    }
    if (n < min_digits) throw InvalidText{why};
    return v;
  }
  // ".f" with 1 to 6 digits, as microseconds; 0 when absent.
  std::int64_t Fraction() {
    if (!Accept('.')) return 0;
    std::int64_t v = 0;
    std::size_t n = 0;
    while (pos_ < s_.size() && IsDigit(s_[pos_])) {
      if (++n > 6) throw InvalidText{"more than 6 fractional digits"};
      v = v * 10 + (s_[pos_++] - '0');
    }
    if (n == 0) throw InvalidText{"no digits after '.'"};
    for (; n < 6; ++n) v *= 10;
    return v;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

struct YearMonthDay {
  std::int64_t year = 0;  // as written, before " BC" is applied
  std::int64_t month = 0;
  std::int64_t day = 0;
};

YearMonthDay ReadDate(Cursor& in) {
  YearMonthDay d;
  // Four digits at least (PostgreSQL pads), more after 9999.
  d.year = in.Digits(4, 9, "expected YYYY-MM-DD");
  in.Expect('-', "expected YYYY-MM-DD");
  d.month = in.Digits(2, 2, "expected YYYY-MM-DD");
  in.Expect('-', "expected YYYY-MM-DD");
  d.day = in.Digits(2, 2, "expected YYYY-MM-DD");
  return d;
}

// Applies " BC" (if `bc`) and validates; returns days since 1970-01-01.
std::int64_t DateToDays(YearMonthDay d, bool bc) {
  if (d.year == 0) throw InvalidText{"year 0 does not exist"};
  const std::int64_t year = bc ? 1 - d.year : d.year;
  if (d.month < 1 || d.month > 12) throw InvalidText{"month out of range"};
  if (d.day < 1 || d.day > DaysInMonth(year, d.month)) throw InvalidText{"day out of range"};
  return DaysFromCivil(year, d.month, d.day);
}

// "HH:MM:SS[.ffffff]" as microseconds since midnight. 24:00:00 only when allowed (type time).
std::int64_t ReadTimeOfDay(Cursor& in, bool allow_24) {
  const auto h = in.Digits(2, 2, "expected HH:MM:SS");
  in.Expect(':', "expected HH:MM:SS");
  const auto m = in.Digits(2, 2, "expected HH:MM:SS");
  in.Expect(':', "expected HH:MM:SS");
  const auto s = in.Digits(2, 2, "expected HH:MM:SS");
  const auto frac = in.Fraction();
  if (m > 59 || s > 59) throw InvalidText{"minute or second out of range"};
  if (h > 24 || (h == 24 && (!allow_24 || m != 0 || s != 0 || frac != 0))) {
    throw InvalidText{"hour out of range"};
  }
  return ((h * 60 + m) * 60 + s) * kMicrosPerSecond + frac;
}

// "+HH", "+HH:MM" or "+HH:MM:SS" (or '-') as seconds east of UTC.
std::int64_t ReadOffset(Cursor& in) {
  std::int64_t sign = 0;
  if (in.Accept('+')) {
    sign = 1;
  } else if (in.Accept('-')) {
    sign = -1;
  } else {
    throw InvalidText{"expected a UTC offset (+HH[:MM[:SS]])"};
  }
  const auto h = in.Digits(2, 2, "expected a UTC offset (+HH[:MM[:SS]])");
  std::int64_t m = 0;
  std::int64_t s = 0;
  if (in.Accept(':')) {
    m = in.Digits(2, 2, "expected a UTC offset (+HH[:MM[:SS]])");
    if (in.Accept(':')) s = in.Digits(2, 2, "expected a UTC offset (+HH[:MM[:SS]])");
  }
  // PostgreSQL limits offsets to 15:59:59.
  if (h > 15 || m > 59 || s > 59) throw InvalidText{"UTC offset out of range"};
  return sign * ((h * 60 + m) * 60 + s);
}

std::int64_t CheckedMicros(std::int64_t days, std::int64_t time_of_day, std::int64_t offset_sec) {
  // PostgreSQL's timestamps end with 294276 AD; microseconds since 1970 in 64 bits end early in
  // 294247. An instant of those last years reads as the latest one that fits (just before
  // infinity) instead of stopping a baseline or a stream; later text is no PostgreSQL output.
  constexpr std::int64_t kLast = std::numeric_limits<std::int64_t>::max() - 1;
  static const std::int64_t kEndDays = DaysFromCivil(294277, 1, 1);
  std::int64_t v = 0;
  if (__builtin_mul_overflow(days, kMicrosPerDay, &v) ||
      __builtin_add_overflow(v, time_of_day, &v) ||
      __builtin_sub_overflow(v, offset_sec * kMicrosPerSecond, &v)) {
    if (days > 0 && days < kEndDays) return kLast;
    throw InvalidText{"out of range"};
  }
  // The extremes mean +-infinity; a real instant must not collide with them.
  if (v == std::numeric_limits<std::int64_t>::max()) return kLast;
  if (v == std::numeric_limits<std::int64_t>::min()) throw InvalidText{"out of range"};
  return v;
}

// Two decimal digits at s[i], or -1.
int Two(std::string_view s, std::size_t i) {
  if (!IsDigit(s[i]) || !IsDigit(s[i + 1])) return -1;
  return (s[i] - '0') * 10 + (s[i + 1] - '0');
}

// The layout PostgreSQL writes for nearly every value, "YYYY-MM-DD HH:MM:SS[.f{1,6}][+HH[:MM]]"
// with a year from 1 to 9999, checked by fixed offsets (every row of a change stream has such
// values). nullopt for any other text, valid or not: the general parser then decides.
std::optional<std::int64_t> FastTimestamp(std::string_view s, bool with_zone) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const int century = Two(s, 0);
  const int year_in_century = Two(s, 2);
  const int month = Two(s, 5);
  const int day = Two(s, 8);
  const int hour = Two(s, 11);
  const int minute = Two(s, 14);
  const int second = Two(s, 17);
  if (century < 0 || year_in_century < 0 || month < 1 || month > 12 || day < 1 || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return std::nullopt;
  }
  const std::int64_t year = century * 100 + year_in_century;
  if (year == 0 || day > DaysInMonth(year, month)) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t fraction = 0;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t digits = 0;
    for (++pos; pos < s.size() && IsDigit(s[pos]) && digits < 6; ++pos, ++digits) {
      fraction = fraction * 10 + (s[pos] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 6; ++digits) fraction *= 10;
  }
  std::int64_t offset_seconds = 0;
  if (with_zone) {
    if (pos + 3 > s.size() || (s[pos] != '+' && s[pos] != '-')) return std::nullopt;
    const int sign = s[pos] == '+' ? 1 : -1;
    const int offset_hours = Two(s, pos + 1);
    int offset_minutes = 0;
    pos += 3;
    if (pos < s.size() && s[pos] == ':') {
      if (pos + 3 > s.size()) return std::nullopt;
      offset_minutes = Two(s, pos + 1);
      pos += 3;
    }
    if (offset_hours < 0 || offset_hours > 15 || offset_minutes < 0 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset_seconds = std::int64_t{sign} * (offset_hours * 3600 + offset_minutes * 60);
  }
  if (pos != s.size()) return std::nullopt;  // seconds in the offset, " BC", junk
  const std::int64_t time_of_day =
      ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + fraction;
  return DaysFromCivil(year, month, day) * kMicrosPerDay + time_of_day -
         offset_seconds * kMicrosPerSecond;
}

}  // namespace

Value ParseDateText(std::string_view s) {
  if (s == "infinity") return Value::Date(std::numeric_limits<std::int32_t>::max());
  if (s == "-infinity") return Value::Date(std::numeric_limits<std::int32_t>::min());
  Cursor in(s);
  const auto ymd = ReadDate(in);
  const bool bc = in.Accept(" BC");
  if (!in.AtEnd()) throw InvalidText{"unexpected characters after the date"};
  return Value::Date(DateToDays(ymd, bc));
}

Value ParseTimeText(std::string_view s) {
  Cursor in(s);
  const auto micros = ReadTimeOfDay(in, /*allow_24=*/true);
  if (!in.AtEnd()) throw InvalidText{"unexpected characters after the time"};
  return Value::Time(micros);
}

Value ParseTimestampText(std::string_view s, bool with_zone) {
  const auto make = [with_zone](std::int64_t micros) {
    return with_zone ? Value::TimestampTz(micros) : Value::Timestamp(micros);
  };
  if (const auto fast = FastTimestamp(s, with_zone)) return make(*fast);
  if (s == "infinity") return make(std::numeric_limits<std::int64_t>::max());
  if (s == "-infinity") return make(std::numeric_limits<std::int64_t>::min());
  Cursor in(s);
  const auto ymd = ReadDate(in);
  if (!in.Accept(' ') && !in.Accept('T')) throw InvalidText{"expected a space before the time"};
  const auto time_of_day = ReadTimeOfDay(in, /*allow_24=*/false);
  const auto offset = with_zone ? ReadOffset(in) : 0;
  const bool bc = in.Accept(" BC");
  if (!in.AtEnd()) throw InvalidText{"unexpected characters after the timestamp"};
  return make(CheckedMicros(DateToDays(ymd, bc), time_of_day, offset));
}

}  // namespace laredo::pg
