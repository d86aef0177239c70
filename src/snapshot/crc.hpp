#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <string_view>

// CRC-32 (zlib's), fed in pieces of any size.
namespace laredo::snapshot {

inline std::uint32_t Crc32(std::uint32_t crc, std::string_view bytes) {
  // zlib takes uInt lengths: feed huge buffers in pieces.
  while (!bytes.empty()) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(bytes.size(), 1u << 30));
    crc = static_cast<std::uint32_t>(::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), n));
    bytes.remove_prefix(n);
  }
  return crc;
}

/// The CRC of A followed by B, from the CRCs of each and B's length.
inline std::uint32_t Crc32Combine(std::uint32_t crc_a, std::uint32_t crc_b, std::size_t length_b) {
  return static_cast<std::uint32_t>(::crc32_combine(crc_a, crc_b, static_cast<z_off_t>(length_b)));
}

}  // namespace laredo::snapshot
