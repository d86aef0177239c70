#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

// Thin wrappers over OpenSSL EVP for what SigV4 needs. Private to laredo::kinesis.
namespace laredo::kinesis::crypto {

using Digest = std::array<std::uint8_t, 32>;

/// SHA-256 of `data`.
Digest Sha256(std::string_view data);

/// HMAC-SHA256 of `data` under `key` (any length; raw bytes).
Digest HmacSha256(std::string_view key, std::string_view data);

/// Lower-case hexadecimal of `bytes`.
std::string HexEncode(std::string_view bytes);
std::string HexEncode(const Digest& digest);

/// The digest's bytes as a string, to key the next HMAC in a chain.
inline std::string_view AsBytes(const Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};  // NOLINT
}

}  // namespace laredo::kinesis::crypto
