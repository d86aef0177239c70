#include "conninfo.hpp"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "hex.hpp"

namespace laredo::pg {
namespace {

constexpr std::string_view kMask = "***";

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// libpq percent-decodes URI parameter names, so "pass%77ord" is a password too.
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

using Range = std::pair<std::size_t, std::size_t>;  // [begin, end) to replace with the mask

std::string ApplyMasks(std::string_view text, std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::string out;
  std::size_t pos = 0;
  for (const auto& [begin, end] : ranges) {
    if (end <= pos) continue;  // inside a range already masked
    if (begin >= pos) {
      out.append(text.substr(pos, begin - pos));
      out.append(kMask);
    }
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

std::string RedactUri(std::string_view uri, std::size_t authority_begin) {
  std::vector<Range> ranges;
  // Credentials end at an '@'. A password holding an unencoded '@', '/' or '?' is malformed but
  // still a password: take the last '@' before the first '?' that follows the first '@', which
  // at worst hides part of the host, never part of the password.
  const auto first_at = uri.find('@', authority_begin);
  if (first_at != std::string_view::npos) {
    const auto query = uri.find('?', first_at);
    const auto at = uri.substr(0, query).rfind('@');
    const auto colon = uri.substr(0, at).find(':', authority_begin);
    if (colon != std::string_view::npos) ranges.emplace_back(colon + 1, at);
  }
  // Any "password=" parameter, wherever a '?' or '&' starts one (also inside what looked like
  // credentials above; overlapping ranges merge).
  for (std::size_t i = authority_begin; i < uri.size(); ++i) {
    if (uri[i] != '?' && uri[i] != '&') continue;
    const auto begin = i + 1;
    const auto eq = uri.find('=', begin);
    if (eq == std::string_view::npos) break;
    const auto amp = uri.find('&', begin);
    if (amp != std::string_view::npos && amp < eq) continue;  // a parameter without '='
    if (!IEquals(PercentDecode(uri.substr(begin, eq - begin)), "password")) continue;
    const auto end = amp == std::string_view::npos ? uri.size() : amp;
    ranges.emplace_back(eq + 1, end);
  }
  return ApplyMasks(uri, std::move(ranges));
}

// Scans one key=value value starting at `i` (after optional spaces): quoted with '...' and
// backslash escapes, or up to the next space with backslash escapes. Returns its end; `closed`
// is false for an unterminated quote.
std::size_t ValueEnd(std::string_view s, std::size_t i, bool& closed) {
  closed = true;
  if (i < s.size() && s[i] == '\'') {
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '\'') {
        return i + 1;
      }
    }
    closed = false;
    return s.size();
  }
  while (i < s.size() && !IsSpace(s[i])) {
    if (s[i] == '\\') ++i;
    ++i;
  }
  return std::min(i, s.size());
}

// A key=value value without its quotes and backslash escapes.
std::string Unquote(std::string_view value) {
  if (!value.empty() && value.front() == '\'') {
    value.remove_prefix(1);
    if (!value.empty() && value.back() == '\'') value.remove_suffix(1);
  }
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

std::string Quote(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string RedactNestedValue(std::string_view value) {
  const std::string redacted = RedactConnInfo(Unquote(value));
  return value.starts_with('\'') ? Quote(redacted) : redacted;
}

std::string RedactKeyValue(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (IsSpace(s[i])) {
      out += s[i++];
      continue;
    }
    // Keyword: up to '=' or a space.
    const auto key_begin = i;
    while (i < s.size() && s[i] != '=' && !IsSpace(s[i])) ++i;
    const auto key = s.substr(key_begin, i - key_begin);
    out.append(key);
    // libpq allows spaces around '='.
    auto j = i;
    while (j < s.size() && IsSpace(s[j])) ++j;
    const bool is_password = IEquals(key, "password");
    if (j >= s.size() || s[j] != '=') {
      // Malformed (no '='). A bare "password" may be followed by the secret: hide the rest.
      if (is_password && j < s.size()) {
        out.append(s.substr(i, j - i));
        out.append(kMask);
        return out;
      }
      continue;
    }
    out.append(s.substr(i, j + 1 - i));  // spaces and '='
    i = j + 1;
    while (i < s.size() && IsSpace(s[i])) out += s[i++];
    bool closed = true;
    const auto end = ValueEnd(s, i, closed);
    const auto value = s.substr(i, end - i);
    if (is_password) {
      out.append(kMask);
    } else if (IEquals(key, "dbname") && (value.find('=') != std::string_view::npos ||
                                          value.find("://") != std::string_view::npos)) {
      // libpq expands a dbname that is itself a connection string; it may hold a password.
      out.append(RedactNestedValue(value));
    } else {
      out.append(value);
    }
    i = end;
  }
  return out;
}

}  // namespace

std::string RedactConnInfo(std::string_view conninfo) {
  for (const std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (conninfo.size() >= scheme.size() && IEquals(conninfo.substr(0, scheme.size()), scheme)) {
      return RedactUri(conninfo, scheme.size());
    }
  }
  return RedactKeyValue(conninfo);
}

}  // namespace laredo::pg
