#pragma once

#include <compare>
#include <string>
#include <string_view>

namespace laredo::kinesis {

/// A Kinesis sequence number: a decimal string of up to 128 bits (56 digits is typical), too long
/// for any integer type. Ordered as a number, not as text: "9" < "10", and leading zeros do not
/// count ("007" == "7"). `ToString` returns the text exactly as given, so parsing round-trips.
/// Thread-safety: a value type.
class SequenceNumber {
 public:
  /// Throws `laredo::DataError` (code "bad_position") unless `text` is one or more ASCII digits.
  explicit SequenceNumber(std::string text);

  /// Same as the constructor; reads better at call sites that parse.
  static SequenceNumber Parse(std::string_view text) { return SequenceNumber(std::string(text)); }

  [[nodiscard]] const std::string& ToString() const noexcept { return text_; }

  friend std::strong_ordering operator<=>(const SequenceNumber& a,
                                          const SequenceNumber& b) noexcept;
  friend bool operator==(const SequenceNumber& a, const SequenceNumber& b) noexcept {
    return std::is_eq(a <=> b);
  }

 private:
  /// The digits after any leading zeros ("" for zero): what comparisons use.
  [[nodiscard]] std::string_view Significant() const noexcept;

  std::string text_;
};

}  // namespace laredo::kinesis
