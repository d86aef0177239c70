#include "laredo/kinesis/position.hpp"

#include <fmt/format.h>

#include <cctype>
#include <compare>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis {
namespace {

constexpr std::string_view kPrefix = "v1:";

bool IsUnreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

void AppendEncoded(std::string& out, std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (const char c : s) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kDigits[b >> 4];
      out += kDigits[b & 0x0f];
    }
  }
}

[[noreturn]] void Bad(std::string_view text, const std::string& why) {
  throw DataError(codes::kBadPosition, fmt::format("bad kinesis position '{}': {}", text, why));
}

int UpperHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict inverse of AppendEncoded: only upper-case escapes of bytes that need one, so that
// decoding then encoding gives back the same text.
std::string Decode(std::string_view text, std::string_view part, std::size_t offset) {
  std::string out;
  out.reserve(part.size());
  for (std::size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    if (IsUnreserved(c)) {
      out += c;
      continue;
    }
    if (c != '%' || i + 2 >= part.size() || UpperHex(part[i + 1]) < 0 ||
        UpperHex(part[i + 2]) < 0) {
      Bad(text, fmt::format("unexpected character at offset {}", offset + i));
    }
    const char decoded = static_cast<char>(UpperHex(part[i + 1]) * 16 + UpperHex(part[i + 2]));
    if (IsUnreserved(decoded)) {
      Bad(text, fmt::format("needless escape at offset {}", offset + i));
    }
    out += decoded;
    i += 2;
  }
  return out;
}

}  // namespace

int StreamPosition::Compare(const StreamPosition& a, const StreamPosition& b) {
  if (const int c = a.snapshot_id.compare(b.snapshot_id); c != 0) return c < 0 ? -1 : 1;
  auto ia = a.shards.begin();
  auto ib = b.shards.begin();
  while (ia != a.shards.end() || ib != b.shards.end()) {
    // The side whose next shard id is smaller lists a shard the other lacks (absent = earlier).
    if (ib == b.shards.end() || (ia != a.shards.end() && ia->first < ib->first)) return 1;
    if (ia == a.shards.end() || ib->first < ia->first) return -1;
    if (const auto c = ia->second <=> ib->second; std::is_neq(c)) return std::is_lt(c) ? -1 : 1;
    ++ia;
    ++ib;
  }
  return 0;
}

bool StreamPosition::Covers(const StreamPosition& later, const StreamPosition& earlier) {
  if (later.snapshot_id != earlier.snapshot_id) return false;
  for (const auto& [shard, sequence] : earlier.shards) {
    const auto it = later.shards.find(shard);
    if (it == later.shards.end() || it->second < sequence) return false;
  }
  return true;
}

std::string StreamPosition::ToString() const {
  std::string out(kPrefix);
  AppendEncoded(out, snapshot_id);
  out += '@';
  bool first = true;
  for (const auto& [shard, sequence] : shards) {
    if (!first) out += ',';
    first = false;
    AppendEncoded(out, shard);
    out += '=';
    out += sequence.ToString();
  }
  return out;
}

StreamPosition StreamPosition::Parse(std::string_view text) {
  if (!text.starts_with(kPrefix)) Bad(text, fmt::format("does not start with '{}'", kPrefix));
  const std::size_t at = text.find('@', kPrefix.size());
  if (at == std::string_view::npos) Bad(text, "no '@' after the snapshot id");

  StreamPosition position;
  position.snapshot_id =
      Decode(text, text.substr(kPrefix.size(), at - kPrefix.size()), kPrefix.size());

  std::size_t begin = at + 1;
  while (begin < text.size()) {
    std::size_t end = text.find(',', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view entry = text.substr(begin, end - begin);
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos)
      Bad(text, fmt::format("no '=' in shard entry at offset {}", begin));
    if (eq == 0) Bad(text, fmt::format("empty shard id at offset {}", begin));
    std::string shard = Decode(text, entry.substr(0, eq), begin);
    if (!position.shards.empty() && !(position.shards.rbegin()->first < shard)) {
      Bad(text, fmt::format("shard '{}' is repeated or out of order", shard));
    }
    const std::string_view digits = entry.substr(eq + 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
      Bad(text, fmt::format("sequence number of shard '{}' is not digits", shard));
    }
    position.shards.emplace_hint(position.shards.end(), std::move(shard),
                                 SequenceNumber(std::string(digits)));
    if (end == text.size()) break;
    begin = end + 1;
    if (begin == text.size()) Bad(text, "trailing ','");
  }
  return position;
}

}  // namespace laredo::kinesis
