#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "laredo/value.hpp"

// One mapping from the contract's JSON values to `laredo::Value`, shared by baseline rows and
// stream records so that the same row compares equal whichever way it arrived.
namespace laredo::kinesis::contract {

/// What a manifest column type maps to. `Unknown` falls back to the JSON type of each value.
enum class ColumnKind : std::uint8_t {
  Unknown,
  Int,
  Double,
  Numeric,
  Bool,
  Text,
  Json,
  Uuid,
  Bytes,
  Date,
  Time,
  Timestamp,
  TimestampTz,
};

/// Maps a type name ("bigint", "timestamp(3) with time zone", "numeric(10,2)", "varchar(20)")
/// case-insensitively, ignoring type modifiers. Arrays and unrecognised types give `Unknown`.
ColumnKind KindForType(std::string_view type_name);

/// Converts one JSON value for a column of `kind`. JSON null gives a null Value for every kind.
/// Throws `laredo::DataError` (code "bad_record") when the JSON value does not fit the kind; the
/// message says what was expected and what was found, and the caller adds the column.
Value ToValue(const nlohmann::json& json, ColumnKind kind);

/// What `ToValue` gives for a JSON string holding `text` (already unescaped), for every kind but
/// `Json` (whose text is the string re-serialised); nullopt where `ToValue` reports a type
/// mismatch. Bad text of a text-carried type (uuid, date, base64, ...) throws as `ToValue` does.
/// For parsers that do not build an `nlohmann::json` tree.
std::optional<Value> ValueFromJsonString(std::string text, ColumnKind kind);

/// The contract's JSON for `value` in a column of `kind`: the inverse of `ToValue`, so that
/// `ToValue(FromValue(v, k), k) == v` (a row reads the same at the consumer as the publisher had
/// it). For a column of a known kind the value must be of the matching `Value::Kind`; an `Unknown`
/// column takes any value, read back by its JSON type. Integers beyond 2^53 go as strings of digits
/// (the contract's form for readers without 64-bit integers), NaN and infinities as "NaN",
/// "Infinity", "-Infinity", bytes as base64, JSON as the document itself. Throws
/// `laredo::DataError` (code "unencodable_value") for an unchanged marker (the caller leaves such
/// columns out), a kind that does not match the column, a date or timestamp outside years
/// 0000-9999, or JSON text that does not parse.
nlohmann::json FromValue(const Value& value, ColumnKind kind);

/// The text forms `ParseDate`, `ParseTime` and `ParseTimestamp` read, for the values they return
/// ("infinity" / "-infinity" for the extremes). Fractions are written to the microsecond, trailing
/// zeros dropped. Throw `laredo::DataError` ("unencodable_value") outside years 0000-9999.
std::string FormatDate(std::int64_t days_since_epoch);
std::string FormatTime(std::int64_t micros_since_midnight);
std::string FormatTimestamp(std::int64_t micros_since_epoch, bool with_zone);

/// Time parsing for the contract's text forms. Each throws `laredo::DataError` ("bad_record").
/// "YYYY-MM-DD" (or "infinity"/"-infinity") -> days since 1970-01-01.
std::int64_t ParseDate(std::string_view text);
/// "HH:MM:SS[.fraction]" -> microseconds since midnight (fraction beyond 6 digits truncated).
std::int64_t ParseTime(std::string_view text);
/// "YYYY-MM-DD[T ]HH:MM:SS[.fraction]" then, when `with_zone`, a required zone ("Z", "+HH",
/// "+HH:MM", "+HHMM"); without it, no zone is allowed. -> microseconds since the epoch (UTC).
std::int64_t ParseTimestamp(std::string_view text, bool with_zone);

/// An RFC 3339 instant as the system clock holds it (nanoseconds: years 1678 to 2262). Throws
/// `laredo::DataError` (code "bad_record") for bad text or an instant outside that range.
std::chrono::system_clock::time_point ParseInstant(std::string_view text);

}  // namespace laredo::kinesis::contract
