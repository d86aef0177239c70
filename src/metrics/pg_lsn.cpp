// PostgreSQL prints an LSN as "%X/%X": the high and low 32 bits in hex. The observer turns it into
// a byte offset so that WAL progress can be graphed and subtracted (bytes behind).
#include <charconv>

#include "laredo/metrics/prometheus_observer.hpp"

namespace laredo::metrics {
namespace {

std::optional<std::uint32_t> ParseHalf(std::string_view text) {
  if (text.empty() || text.size() > 8) return std::nullopt;
  std::uint32_t value = 0;
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value, 16);
  if (result.ec != std::errc{} || result.ptr != end) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::uint64_t> ParsePgLsn(std::string_view text) noexcept {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  // from_chars accepts no sign or prefix, so "+1/0" and "0x1/0" fail as they should.
  const auto high = ParseHalf(text.substr(0, slash));
  const auto low = ParseHalf(text.substr(slash + 1));
  if (!high || !low) return std::nullopt;
  return (static_cast<std::uint64_t>(*high) << 32) | *low;
}

}  // namespace laredo::metrics
