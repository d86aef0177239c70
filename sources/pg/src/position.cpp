#include "laredo/pg/position.hpp"

#include <fmt/format.h>

#include <charconv>
#include <utility>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {

int StreamPosition::Compare(const StreamPosition& a, const StreamPosition& b) noexcept {
  if (a.commit_lsn != b.commit_lsn) return a.commit_lsn < b.commit_lsn ? -1 : 1;
  if (a.index != b.index) return a.index < b.index ? -1 : 1;
  return 0;
}

int StreamPosition::CompareResumePoints(const StreamPosition& a, const StreamPosition& b) noexcept {
  // A transaction's last change is the one whose ack_lsn (its commit's end) is past its commit
  // LSN; nothing lies between it and "everything through that end".
  const auto point = [](const StreamPosition& p) {
    return p.ack_lsn > p.commit_lsn ? std::pair{p.ack_lsn, std::uint32_t{0}}
                                    : std::pair{p.commit_lsn, p.index};
  };
  const auto pa = point(a);
  const auto pb = point(b);
  if (pa == pb) return 0;
  return pa < pb ? -1 : 1;
}

std::string StreamPosition::ToString() const {
  return fmt::format("pg1:{}:{}:{}", commit_lsn.ToString(), index, ack_lsn.ToString());
}

StreamPosition StreamPosition::Parse(std::string_view text) {
  const auto bad = [&](std::string_view why) -> DataError {
    return DataError(codes::kBadPosition,
                     fmt::format("malformed pg position \"{}\": {}", text, why));
  };
  constexpr std::string_view kPrefix = "pg1:";
  if (!text.starts_with(kPrefix)) throw bad("expected prefix \"pg1:\"");
  std::string_view rest = text.substr(kPrefix.size());
  const auto first = rest.find(':');
  const auto second = first == std::string_view::npos ? first : rest.find(':', first + 1);
  if (second == std::string_view::npos) throw bad("expected three ':'-separated fields");
  StreamPosition p;
  p.commit_lsn = Lsn::Parse(rest.substr(0, first));
  const std::string_view index = rest.substr(first + 1, second - first - 1);
  if (index.empty() || (index.size() > 1 && index[0] == '0')) throw bad("bad index");
  const auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), p.index);
  if (ec != std::errc() || end != index.data() + index.size()) throw bad("bad index");
  p.ack_lsn = Lsn::Parse(rest.substr(second + 1));
  // Only canonical text round-trips (Lsn::Parse accepts lower case and leading zeros).
  if (p.ToString() != text) throw bad("not in canonical form");
  return p;
}

}  // namespace laredo::pg
