#include "copy_text.hpp"

#include <fmt/format.h>

#include "hex.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

[[noreturn]] void BadLine(std::string_view line, std::size_t offset, std::string_view why) {
  constexpr std::size_t kShown = 80;
  throw DataError(codes::kBadCopyLine,
                  fmt::format("malformed COPY text line at byte {}: {} (line starts \"{}\")",
                              offset, why, line.substr(0, kShown)));
}

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

}  // namespace

const std::vector<CopyField>& CopyTextParser::Parse(std::string_view line) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  fields_.clear();
  unescaped_.clear();
  // Unescaping never lengthens a field, so this one reservation keeps every view into
  // unescaped_ valid while later fields append to it.
  unescaped_.reserve(line.size());

  std::size_t pos = 0;
  while (true) {
    const std::size_t begin = pos;
    const std::size_t tab = line.find('\t', begin);
    const std::size_t end = tab == std::string_view::npos ? line.size() : tab;
    const std::string_view raw = line.substr(begin, end - begin);

    if (raw == "\\N") {
      fields_.push_back({true, {}});
    } else if (raw.find('\\') == std::string_view::npos) {
      fields_.push_back({false, raw});
    } else {
      const std::size_t out_begin = unescaped_.size();
      for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c != '\\') {
          unescaped_ += c;
          continue;
        }
        if (i + 1 >= raw.size()) BadLine(line, begin + i, "backslash at the end of a field");
        const char e = raw[++i];
        switch (e) {
          case 'b':
            unescaped_ += '\b';
            break;
          case 'f':
            unescaped_ += '\f';
            break;
          case 'n':
            unescaped_ += '\n';
            break;
          case 'r':
            unescaped_ += '\r';
            break;
          case 't':
            unescaped_ += '\t';
            break;
          case 'v':
            unescaped_ += '\v';
            break;
          case '\\':
            unescaped_ += '\\';
            break;
          case 'x': {
            int value = 0;
            int digits = 0;
            while (digits < 2 && i + 1 < raw.size() && HexValue(raw[i + 1]) >= 0) {
              value = value * 16 + HexValue(raw[++i]);
              ++digits;
            }
            if (digits == 0) BadLine(line, begin + i, "\\x without hex digits");
            unescaped_ += static_cast<char>(value);
            break;
          }
          default: {
            if (!IsOctal(e)) {
              BadLine(line, begin + i - 1,
                      e == 'N' ? "\\N inside a field" : fmt::format("unknown escape \\{}", e));
            }
            int value = e - '0';
            for (int digits = 1; digits < 3 && i + 1 < raw.size() && IsOctal(raw[i + 1]);
                 ++digits) {
              value = value * 8 + (raw[++i] - '0');
            }
            if (value > 0377) BadLine(line, begin + i, "octal escape above \\377");
            unescaped_ += static_cast<char>(value);
            break;
          }
        }
      }
      fields_.push_back(
          {false, std::string_view(unescaped_).substr(out_begin, unescaped_.size() - out_begin)});
    }

    if (tab == std::string_view::npos) break;
    pos = tab + 1;
  }
  return fields_;
}

}  // namespace laredo::pg
