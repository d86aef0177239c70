#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Just enough XML for S3's responses: the text of elements found by local name, whatever their
// namespace prefix (s3rver's namespace differs from S3's). No validation, no DOM.
namespace laredo::kinesis::xml {

/// The unescaped text of every element whose local name is `name`, in document order. An element
/// holding child elements yields the text before its first child.
std::vector<std::string> ElementTexts(std::string_view document, std::string_view name);

/// The first of `ElementTexts`, or nullopt.
std::optional<std::string> FirstElementText(std::string_view document, std::string_view name);

/// Replaces the five named entities and numeric character references.
std::string Unescape(std::string_view text);

}  // namespace laredo::kinesis::xml
