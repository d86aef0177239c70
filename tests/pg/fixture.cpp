#include "fixture.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace laredo::pg::testing {

std::vector<std::byte> FromHex(std::string_view hex) {
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::runtime_error(fmt::format("bad hex digit '{}'", c));
  };
  if (hex.size() % 2 != 0) throw std::runtime_error("odd hex length");
  std::vector<std::byte> out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

std::vector<RecordedMessage> LoadFixture(std::string_view name) {
  const std::string path = fmt::format("{}/{}", LAREDO_PG_FIXTURE_DIR, name);
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open fixture " + path);
  std::vector<RecordedMessage> out;
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    if (line.empty() || line.front() == '#') continue;
    std::istringstream fields(line);
    RecordedMessage m;
    std::string hex;
    if (!(fields >> m.lsn >> m.xid >> hex)) {
      throw std::runtime_error(fmt::format("{}:{}: expected <lsn> <xid> <hex>", path, number));
    }
    m.bytes = FromHex(hex);
    m.line = number;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace laredo::pg::testing
