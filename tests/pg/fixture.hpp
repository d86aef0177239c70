#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace laredo::pg::testing {

/// One recorded pgoutput message (a line of a fixture file: "<lsn> <xid> <hex>").
struct RecordedMessage {
  std::string lsn;
  std::uint32_t xid = 0;
  std::vector<std::byte> bytes;
  int line = 0;

  [[nodiscard]] std::span<const std::byte> span() const { return bytes; }
};

/// Reads tests/pg/fixtures/<name>; fails the test (throws) when the file is missing or bad.
std::vector<RecordedMessage> LoadFixture(std::string_view name);

/// Bytes from a hex string, for hand-written messages.
std::vector<std::byte> FromHex(std::string_view hex);

}  // namespace laredo::pg::testing
