#pragma once

// The value of one hexadecimal digit, shared by the text decoders of this source (bytea and uuid
// values, COPY escapes, percent-encoded connection strings).
namespace laredo::pg {

/// 0..15, or -1 when `c` is not a hex digit.
constexpr int HexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace laredo::pg
