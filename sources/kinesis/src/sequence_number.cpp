#include "laredo/kinesis/sequence_number.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis {

SequenceNumber::SequenceNumber(std::string text) : text_(std::move(text)) {
  if (text_.empty()) throw DataError(codes::kBadPosition, "empty sequence number");
  const auto bad =
      std::find_if(text_.begin(), text_.end(), [](char c) { return c < '0' || c > '9'; });
  if (bad != text_.end()) {
    throw DataError(codes::kBadPosition,
                    fmt::format("sequence number '{}' has a non-digit at offset {}", text_,
                                bad - text_.begin()));
  }
}

std::string_view SequenceNumber::Significant() const noexcept {
  const std::string_view digits = text_;
  const auto first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string_view{} : digits.substr(first);
}

std::strong_ordering operator<=>(const SequenceNumber& a, const SequenceNumber& b) noexcept {
  const std::string_view x = a.Significant();
  const std::string_view y = b.Significant();
  // Without leading zeros, more digits means a larger number; equal lengths compare as text.
  if (x.size() != y.size()) return x.size() <=> y.size();
  return x.compare(y) <=> 0;
}

}  // namespace laredo::kinesis
