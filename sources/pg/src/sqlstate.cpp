#include "sqlstate.hpp"

#include <array>

namespace laredo::pg {
namespace {

bool IsSqlStateChar(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

}  // namespace

SqlStateClass ClassifySqlState(std::string_view state) {
  // 55006: a replication slot still held by a walsender that is exiting. 55P03: a lock not
  // granted within lock_timeout (a migration holding the table, say), worth waiting out.
  constexpr std::array<std::string_view, 8> kTransient = {"57P01", "57P02", "57P03", "53300",
                                                          "40001", "40P01", "55006", "55P03"};
  if (state.starts_with("08")) return SqlStateClass::Transient;  // connection exception
  for (auto s : kTransient) {
    if (state == s) return SqlStateClass::Transient;
  }
  // 28000 covers a missing pg_hba.conf entry, an unknown role and a role without LOGIN; 28P01 a
  // wrong password; 3D000 an unknown database; 42501 e.g. a role without REPLICATION.
  if (state.starts_with("28") || state == "3D000" || state == "42501") {
    return SqlStateClass::Configuration;
  }
  return SqlStateClass::Other;
}

ConnectFailure ParseVerboseConnectError(std::string_view message) {
  // Verbose messages put the SQLSTATE after the (translated) severity: "<severity>:  XXXXX: ".
  ConnectFailure out;
  std::string text;
  std::size_t line_start = 0;
  while (line_start < message.size()) {
    auto line_end = message.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = message.size();
    auto line = message.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    if (line.starts_with("LOCATION:")) continue;
    std::string kept(line);
    for (std::size_t at = kept.find(":  "); at != std::string::npos;
         at = kept.find(":  ", at + 1)) {
      const std::size_t code = at + 3;
      if (code + 7 > kept.size() || kept[code + 5] != ':' || kept[code + 6] != ' ') continue;
      bool all = true;
      for (std::size_t i = code; i < code + 5; ++i) all = all && IsSqlStateChar(kept[i]);
      if (!all) continue;
      out.sqlstate = kept.substr(code, 5);
      kept.erase(code, 7);
      break;
    }
    if (!text.empty()) text += '\n';
    text += kept;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  out.message = std::move(text);
  return out;
}

}  // namespace laredo::pg
