#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "binary_text.hpp"

namespace laredo::pg {

// The text output of the date and time types from their binary form (see binary_text.hpp):
// DateStyle=ISO, IntervalStyle=postgres, TimeZone=UTC. Each appends to `out`; the ones reading
// bytes throw `InvalidBinary` for bytes the send function never writes.

/// date: days since 2000-01-01 -> "YYYY-MM-DD[ BC]" or "infinity"/"-infinity".
void AppendDateText(std::int32_t pg_days, std::string& out);
/// time: microseconds since midnight -> "HH:MM:SS[.ffffff]" (fraction without trailing zeros).
void AppendTimeText(std::int64_t micros, std::string& out);
/// timestamp/timestamptz: microseconds since 2000-01-01 -> "YYYY-MM-DD HH:MM:SS[.f][+00][ BC]".
void AppendTimestampText(std::int64_t pg_micros, bool with_zone, std::string& out);

/// interval (Int64 microseconds, Int32 days, Int32 months) -> "1 year 2 mons -3 days +04:05:06.5"
/// as IntervalStyle=postgres writes it; PostgreSQL 17's infinite intervals as "infinity".
void AppendIntervalText(std::string_view bytes, std::string& out);
/// timetz (Int64 microseconds, Int32 zone seconds west of UTC) -> "HH:MM:SS[.ffffff]+HH[:MM[:SS]]".
void AppendTimeTzText(std::string_view bytes, std::string& out);

}  // namespace laredo::pg
