#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "memory/varint.hpp"

// Little-endian fixed-width integers and LEB128 varints for the snapshot files, and a cursor
// that refuses to read past its end: the files come from disk or a network store, so every
// length is checked before it is trusted. Pure helpers; no state beyond the cursor's.
namespace laredo::snapshot::io {

inline void PutU32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 4);
}

inline void PutU64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}

// The one LEB128 and zig-zag code of the library (memory/varint.hpp); the cursor below is the
// bounds-checked reading side that untrusted files need.
inline void PutVarint(std::string& out, std::uint64_t v) { memory::varint::Append(out, v); }
using memory::varint::UnZigZag;
using memory::varint::ZigZag;

inline void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

inline std::uint32_t GetU32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

inline std::uint64_t GetU64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

/// Reads from a byte range; `Fail(what)` is called (and must throw) on anything malformed.
template <typename Failer>
class Cursor {
 public:
  Cursor(std::string_view bytes, Failer fail)
      : p_(bytes.data()), end_(p_ + bytes.size()), fail_(fail) {}

  [[nodiscard]] std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  [[nodiscard]] bool empty() const { return p_ == end_; }
  /// Where the cursor is, to come back to (`Rewind`).
  [[nodiscard]] const char* mark() const { return p_; }
  void Rewind(const char* mark) { p_ = mark; }

  std::uint8_t Byte() {
    if (p_ == end_) fail_("a value runs past the end of its block");
    return static_cast<std::uint8_t>(*p_++);
  }
  std::uint64_t Varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = Byte();
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail_("a varint is longer than 10 bytes");
    return 0;
  }
  std::string_view Bytes(std::uint64_t n) {
    if (n > remaining()) fail_("a length runs past the end of its block");
    std::string_view out(p_, static_cast<std::size_t>(n));
    p_ += n;
    return out;
  }
  std::string_view String() { return Bytes(Varint()); }
  std::uint64_t Fixed64() { return GetU64(Bytes(8).data()); }
  [[noreturn]] void Fail(const char* what) const {
    fail_(what);
    __builtin_unreachable();
  }

 private:
  const char* p_;
  const char* end_;
  Failer fail_;
};

}  // namespace laredo::snapshot::io
