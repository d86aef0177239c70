#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "laredo/value.hpp"

namespace laredo::memory {

/// The compact row encoding of the in-memory target: one allocation per row holding
/// `[varint byte length][varint column count]` then, per column, a tag byte and its payload
/// (zig-zag varints for integer kinds, 8 raw bytes for doubles, varint length + bytes for strings).
/// The encoding is canonical (equal values give equal bytes), so key columns' bytes double as
/// hash keys. Pure functions; no locking.
namespace packed {

/// Tag of a column the row does not have (kept distinct from SQL NULL).
inline constexpr std::uint8_t kAbsent = 0xFF;

/// Appends `value`'s tag and payload to `out`.
void AppendValue(std::string& out, const Value& value);
/// Appends the absent marker.
inline void AppendAbsent(std::string& out) { out.push_back(static_cast<char>(kAbsent)); }

/// Copies `columns` (the concatenated column encodings) into a new row buffer.
std::unique_ptr<std::uint8_t[]> Pack(std::string_view columns, std::uint32_t column_count);

/// Read access to a packed row.
class View {
 public:
  explicit View(const std::uint8_t* data);
  [[nodiscard]] std::uint32_t column_count() const { return column_count_; }
  /// Bytes the buffer occupies.
  [[nodiscard]] std::size_t size() const { return size_; }
  /// Calls `fn(index, encoded)` for every column, `encoded` being its tag and payload.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    const std::uint8_t* p = columns_;
    for (std::uint32_t i = 0; i < column_count_; ++i) {
      const std::uint8_t* next = Skip(p);
      fn(i, std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(next - p)));
      p = next;
    }
  }

 private:
  static const std::uint8_t* Skip(const std::uint8_t* p);
  const std::uint8_t* columns_ = nullptr;
  std::uint32_t column_count_ = 0;
  std::size_t size_ = 0;
};

/// Decodes one column encoding (as `View::ForEach` yields it). Not for `kAbsent`.
Value DecodeValue(std::string_view encoded);
/// Whether an encoded column is the absent marker.
inline bool IsAbsent(std::string_view encoded) {
  return !encoded.empty() && static_cast<std::uint8_t>(encoded[0]) == kAbsent;
}

}  // namespace packed
}  // namespace laredo::memory
