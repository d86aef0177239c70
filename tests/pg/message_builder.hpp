#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace laredo::pg::testing {

/// Builds wire messages by hand, big-endian, for tests of shapes the recordings lack.
class MessageBuilder {
 public:
  MessageBuilder& U8(std::uint8_t v) {
    bytes_.push_back(static_cast<std::byte>(v));
    return *this;
  }
  MessageBuilder& Char(char c) { return U8(static_cast<std::uint8_t>(c)); }
  MessageBuilder& U16(std::uint16_t v) { return Int(v, 2); }
  MessageBuilder& U32(std::uint32_t v) { return Int(v, 4); }
  MessageBuilder& I32(std::int32_t v) { return Int(static_cast<std::uint32_t>(v), 4); }
  MessageBuilder& U64(std::uint64_t v) { return Int(v, 8); }
  MessageBuilder& Raw(std::string_view s) {
    for (const char c : s) Char(c);
    return *this;
  }
  MessageBuilder& CString(std::string_view s) { return Raw(s).U8(0); }
  /// A 't' or 'b' TupleData column.
  MessageBuilder& Column(char kind, std::string_view data) {
    return Char(kind).U32(static_cast<std::uint32_t>(data.size())).Raw(data);
  }

  [[nodiscard]] std::span<const std::byte> span() const { return bytes_; }
  [[nodiscard]] const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  MessageBuilder& Int(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) U8(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }

  std::vector<std::byte> bytes_;
};

}  // namespace laredo::pg::testing
