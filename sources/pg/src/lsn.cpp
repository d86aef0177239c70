#include "laredo/pg/lsn.hpp"

#include <fmt/format.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

[[noreturn]] void BadLsn(std::string_view text, std::string_view why) {
  throw DataError(codes::kBadPosition, fmt::format("malformed LSN \"{}\": {}", text, why));
}

// One half of "X/X": 1 to 8 hex digits, so it always fits in 32 bits.
std::uint32_t ParseHalf(std::string_view half, std::string_view text) {
  if (half.empty()) BadLsn(text, "empty component");
  if (half.size() > 8) BadLsn(text, "component longer than 8 hex digits");
  std::uint32_t value = 0;
  for (const char c : half) {
    std::uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      BadLsn(text, "not a hex digit");
    }
    value = (value << 4U) | digit;
  }
  return value;
}

}  // namespace

std::string Lsn::ToString() const {
  return fmt::format("{:X}/{:X}", value_ >> 32U, value_ & 0xFFFFFFFFU);
}

Lsn Lsn::Parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) BadLsn(text, "missing '/'");
  const std::uint64_t high = ParseHalf(text.substr(0, slash), text);
  // A second '/' lands here as a non-hex character.
  const std::uint64_t low = ParseHalf(text.substr(slash + 1), text);
  return Lsn((high << 32U) | low);
}

}  // namespace laredo::pg
