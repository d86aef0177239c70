#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

// LEB128 varints and zig-zag mapping, shared by the key encoding and the row codec. Pure inline
// functions; no state.
namespace laredo::memory::varint {

inline std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

inline std::int64_t UnZigZag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

/// Writes into a local buffer first: one append instead of a push_back per byte.
inline void Append(std::string& out, std::uint64_t v) {
  char buf[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

/// Only reads buffers this library wrote, so no bounds are needed beyond the encoding's own.
inline std::uint64_t Read(const std::uint8_t*& p) {
  std::uint64_t v = *p & 0x7F;
  int shift = 7;
  while (*p++ & 0x80) {
    v |= static_cast<std::uint64_t>(*p & 0x7F) << shift;
    shift += 7;
  }
  return v;
}

inline const std::uint8_t* Skip(const std::uint8_t* p) {
  while (*p++ & 0x80) {
  }
  return p;
}

}  // namespace laredo::memory::varint
