#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace laredo {

/// One column value. Every source maps its native types onto these kinds through one mapping, so
/// the same row compares equal whether it arrived in a baseline or in the change stream.
///
/// Kinds and their payloads:
/// - `Null` (SQL NULL; `Value()` is null) and `Unchanged` (a column the source did not send
///   because it did not change, e.g. a PostgreSQL TOAST value; targets keep the previous value);
/// - `Bool`, `Int` (64-bit signed), `Double`;
/// - `Text`, `Bytes` (arbitrary octets), `Numeric` (exact decimal kept as its text, e.g.
///   "12.50", "NaN"), `Json` (the JSON document's text), `Uuid` (canonical lower-case text);
/// - `Date` (days since 1970-01-01), `Time` (microseconds since midnight), `Timestamp` (without
///   time zone) and `TimestampTz` (an instant), both microseconds since 1970-01-01T00:00:00.
///
/// Equality compares kind and payload: `Value(1) != Value(1.0)`, `Value("1") !=
/// Value::Numeric("1")`. Typed accessors throw `laredo::Error` (code "wrong_type") when the kind
/// differs. Thread-safety: a value type; const access from several threads is safe.
class Value {
 public:
  enum class Kind : std::uint8_t {
    Null,
    Unchanged,
    Bool,
    Int,
    Double,
    Text,
    Bytes,
    Numeric,
    Json,
    Uuid,
    Date,
    Time,
    Timestamp,
    TimestampTz,
  };

  using Micros = std::chrono::sys_time<std::chrono::microseconds>;

  Value() = default;
  Value(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): Value v = nullptr reads well
  Value(bool v) : kind_(Kind::Bool), data_(v) {}  // NOLINT(google-explicit-constructor)
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>)
      Value(T v)  // NOLINT(google-explicit-constructor)
      : kind_(Kind::Int), data_(static_cast<std::int64_t>(v)) {}
  Value(double v) : kind_(Kind::Double), data_(v) {}    // NOLINT(google-explicit-constructor)
  Value(float v) : Value(static_cast<double>(v)) {}     // NOLINT(google-explicit-constructor)
  Value(const char* v) : Value(std::string(v)) {}       // NOLINT(google-explicit-constructor)
  Value(std::string_view v) : Value(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Value(std::string v)                                  // NOLINT(google-explicit-constructor)
      : kind_(Kind::Text), data_(std::move(v)) {}

  static Value Unchanged() { return Value(Kind::Unchanged, std::monostate{}); }
  static Value Bytes(std::string octets) { return Value(Kind::Bytes, std::move(octets)); }
  static Value Numeric(std::string decimal_text) {
    return Value(Kind::Numeric, std::move(decimal_text));
  }
  static Value Json(std::string json_text) { return Value(Kind::Json, std::move(json_text)); }
  static Value Uuid(std::string canonical_text) {
    return Value(Kind::Uuid, std::move(canonical_text));
  }
  static Value Date(std::int64_t days_since_epoch) { return Value(Kind::Date, days_since_epoch); }
  static Value Time(std::int64_t micros_since_midnight) {
    return Value(Kind::Time, micros_since_midnight);
  }
  static Value Timestamp(std::int64_t micros_since_epoch) {
    return Value(Kind::Timestamp, micros_since_epoch);
  }
  static Value TimestampTz(std::int64_t micros_since_epoch) {
    return Value(Kind::TimestampTz, micros_since_epoch);
  }
  static Value TimestampTz(Micros instant) {
    return TimestampTz(instant.time_since_epoch().count());
  }
  /// Rebuilds a value from its kind and raw payload; `Decode` of the packed row formats uses it.
  static Value FromInt(Kind kind, std::int64_t payload);
  static Value FromString(Kind kind, std::string payload);
  /// Makes this value `kind` (a string kind) holding `payload`, reusing this value's string
  /// storage when it has one: a decoder that fills the same row again and again allocates
  /// nothing. Throws `laredo::Error` ("wrong_type") for a kind that holds no string.
  void AssignString(Kind kind, std::string_view payload);

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool IsNull() const noexcept { return kind_ == Kind::Null; }
  [[nodiscard]] bool IsUnchanged() const noexcept { return kind_ == Kind::Unchanged; }
  /// True for kinds whose payload is a string (Text, Bytes, Numeric, Json, Uuid).
  [[nodiscard]] bool HoldsString() const noexcept { return data_.index() == 4; }
  /// True for kinds whose payload is a 64-bit integer (Int, Date, Time, Timestamp, TimestampTz).
  [[nodiscard]] bool HoldsInt() const noexcept { return data_.index() == 2; }

  [[nodiscard]] bool AsBool() const;
  [[nodiscard]] std::int64_t AsInt() const;
  [[nodiscard]] double AsDouble() const;
  [[nodiscard]] const std::string& AsText() const;
  [[nodiscard]] const std::string& AsBytes() const;
  [[nodiscard]] const std::string& AsNumeric() const;
  [[nodiscard]] const std::string& AsJson() const;
  [[nodiscard]] const std::string& AsUuid() const;
  [[nodiscard]] std::int64_t AsDate() const;
  [[nodiscard]] std::int64_t AsTime() const;
  [[nodiscard]] Micros AsTimestamp() const;
  [[nodiscard]] Micros AsTimestampTz() const;
  /// The string payload of any string kind; throws for the others.
  [[nodiscard]] const std::string& StringPayload() const;
  /// The integer payload of any integer kind; throws for the others.
  [[nodiscard]] std::int64_t IntPayload() const;
  /// Unchecked views of the payload for hot loops (encoders): null when the payload is not of
  /// that representation.
  [[nodiscard]] const std::string* StringIf() const noexcept {
    return std::get_if<std::string>(&data_);
  }
  [[nodiscard]] const std::int64_t* IntIf() const noexcept {
    return std::get_if<std::int64_t>(&data_);
  }
  [[nodiscard]] const double* DoubleIf() const noexcept { return std::get_if<double>(&data_); }
  [[nodiscard]] const bool* BoolIf() const noexcept { return std::get_if<bool>(&data_); }

  /// Human-readable rendering: "NULL", "true", "42", "1.5", the text itself, "\\x0a0b" for bytes,
  /// ISO-8601 for dates and times ("2024-05-01T12:00:00.000001Z" for TimestampTz).
  [[nodiscard]] std::string ToString() const;

  /// Same kind and payload. Two NaN doubles compare equal, so a row holding NaN equals itself
  /// (value semantics, as for text; use `AsDouble` for IEEE comparisons).
  friend bool operator==(const Value& a, const Value& b) noexcept {
    if (a.kind_ != b.kind_) return false;
    if (const double* x = a.DoubleIf()) {
      const double* y = b.DoubleIf();
      if (y != nullptr && *x != *x && *y != *y) return true;  // both NaN
    }
    return a.data_ == b.data_;
  }

 private:
  using Data = std::variant<std::monostate, bool, std::int64_t, double, std::string>;
  Value(Kind kind, Data data) : kind_(kind), data_(std::move(data)) {}

  Kind kind_ = Kind::Null;
  Data data_;
};

/// "Null", "Int", ... for messages.
std::string_view KindName(Value::Kind kind) noexcept;

}  // namespace laredo
