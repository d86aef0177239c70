#include "pg_snapshot.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

// `a` precedes `b` modulo 2^32.
bool Precedes(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }

[[noreturn]] void Bad(std::string_view text) {
  throw DataError(codes::kPgProtocol, "unexpected pg_current_snapshot() output: \"" +
                                          std::string(text.substr(0, 80)) + "\"");
}

// A 64-bit xid8 reduced to the 32 bits without the epoch.
std::uint32_t Xid32(std::string_view item, std::string_view whole) {
  std::uint64_t v = 0;
  const auto* end = item.data() + item.size();
  const auto [ptr, ec] = std::from_chars(item.data(), end, v);
  if (item.empty() || ec != std::errc() || ptr != end) Bad(whole);
  return static_cast<std::uint32_t>(v);
}

}  // namespace

PgSnapshot PgSnapshot::Parse(std::string_view text) {
  const auto first = text.find(':');
  const auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) Bad(text);
  PgSnapshot s;
  s.xmin = Xid32(text.substr(0, first), text);
  s.xmax = Xid32(text.substr(first + 1, second - first - 1), text);
  for (auto list = text.substr(second + 1); !list.empty();) {
    const auto comma = list.find(',');
    s.in_progress.push_back(Xid32(list.substr(0, comma), text));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
    if (list.empty()) Bad(text);  // a trailing comma
  }
  if (Precedes(s.xmax, s.xmin)) Bad(text);
  return s;
}

bool PgSnapshot::Sees(std::uint32_t xid) const {
  if (Precedes(xid, xmin)) return true;
  if (!Precedes(xid, xmax)) return false;
  return std::find(in_progress.begin(), in_progress.end(), xid) == in_progress.end();
}

}  // namespace laredo::pg
