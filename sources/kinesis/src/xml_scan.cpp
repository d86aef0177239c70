#include "xml_scan.hpp"

#include <charconv>
#include <cstdint>

namespace laredo::kinesis::xml {
namespace {

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6U));
    out += static_cast<char>(0x80 | (cp & 0x3FU));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12U));
    out += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
    out += static_cast<char>(0x80 | (cp & 0x3FU));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18U));
    out += static_cast<char>(0x80 | ((cp >> 12U) & 0x3FU));
    out += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
    out += static_cast<char>(0x80 | (cp & 0x3FU));
  }
}

}  // namespace

std::string Unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::size_t semi = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (semi == std::string_view::npos || semi - i > 12) {
      out += text[i];
      continue;
    }
    const std::string_view entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      const auto [ptr, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (ec != std::errc() || ptr != digits.data() + digits.size() || cp > 0x10FFFF) {
        out += text[i];
        continue;
      }
      AppendUtf8(out, cp);
    } else {
      out += text[i];
      continue;
    }
    i = semi;
  }
  return out;
}

std::vector<std::string> ElementTexts(std::string_view document, std::string_view name) {
  std::vector<std::string> found;
  std::size_t pos = 0;
  while ((pos = document.find('<', pos)) != std::string_view::npos) {
    const std::size_t end = document.find('>', pos);
    if (end == std::string_view::npos) break;
    const std::string_view tag = document.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    // Declarations, comments, closing and self-closing tags carry no text of their own.
    if (tag.empty() || tag[0] == '?' || tag[0] == '!' || tag[0] == '/' || tag.back() == '/') {
      continue;
    }
    std::string_view tag_name = tag.substr(0, tag.find_first_of(" \t\r\n"));
    if (const std::size_t colon = tag_name.find(':'); colon != std::string_view::npos) {
      tag_name.remove_prefix(colon + 1);
    }
    if (tag_name != name) continue;
    const std::size_t text_end = document.find('<', pos);
    found.push_back(Unescape(document.substr(
        pos, text_end == std::string_view::npos ? std::string_view::npos : text_end - pos)));
  }
  return found;
}

std::optional<std::string> FirstElementText(std::string_view document, std::string_view name) {
  auto all = ElementTexts(document, name);
  if (all.empty()) return std::nullopt;
  return std::move(all.front());
}

}  // namespace laredo::kinesis::xml
