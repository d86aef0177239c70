#pragma once

#include <string_view>

#include "laredo/value.hpp"

namespace laredo::pg {

/// Why a text value was refused. Thrown by the parsers below and turned into a `DataError`
/// naming type and value by `TextToValue`, the only caller.
struct InvalidText {
  std::string_view why;
};

// PostgreSQL's ISO output (DateStyle=ISO) for date, time, timestamp and timestamptz, to Values.
// Proleptic Gregorian calendar, any year PostgreSQL allows ("0044-03-15 BC", "5874897-12-31"),
// "infinity"/"-infinity" as the extremes value.hpp prints as such. Throw InvalidText.

/// "YYYY-MM-DD[ BC]" -> Date (days since 1970-01-01).
Value ParseDateText(std::string_view text);
/// "HH:MM:SS[.ffffff]" (up to 24:00:00) -> Time.
Value ParseTimeText(std::string_view text);
/// "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]" -> Timestamp, or TimestampTz when
/// `with_zone` (the offset is then required).
Value ParseTimestampText(std::string_view text, bool with_zone);

}  // namespace laredo::pg
