#include "crypto.hpp"

#include <openssl/evp.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::crypto {
namespace {

[[noreturn]] void Fail(const char* what) {
  // Only an OpenSSL misconfiguration (no default provider) gets here; nothing to retry.
  throw FatalError(codes::kCrypto, std::string("OpenSSL ") + what + " failed");
}

}  // namespace

Digest Sha256(std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    Fail("SHA-256");
  }
  return out;
}

Digest HmacSha256(std::string_view key, std::string_view data) {
  Digest out{};
  std::size_t len = 0;
  // EVP_Q_mac is the one-shot EVP MAC interface of OpenSSL 3.
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(data.data()),  // NOLINT
                data.size(), out.data(), out.size(), &len) == nullptr ||
      len != out.size()) {
    Fail("HMAC-SHA256");
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

std::string HexEncode(const Digest& digest) { return HexEncode(AsBytes(digest)); }

}  // namespace laredo::kinesis::crypto
