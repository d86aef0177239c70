#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace laredo::pg {

/// One field of a COPY text-format line. `text` is a view either into the line (no escapes in the
/// field) or into the parser's buffer; both stay valid until the parser's next `Parse`.
struct CopyField {
  bool is_null = false;
  std::string_view text;
};

/// Splits lines of `COPY ... TO STDOUT` in text format (the default): fields separated by tabs,
/// `\N` for NULL, backslash escapes \b \f \n \r \t \v \\, \ooo (octal) and \xhh (hex).
///
/// Fields without escapes are views into the line, so the common case allocates nothing; escaped
/// fields are unescaped into one buffer reused across lines. The parser is strict because its
/// input is what the server produced: an escape COPY never writes (`\q`, a lone trailing `\`,
/// `\N` inside a longer field, an octal value above \377) throws `laredo::DataError` (code
/// "bad_copy_line") rather than guess.
/// Thread-safety: one parser per thread.
class CopyTextParser {
 public:
  /// Parses one line, with or without its trailing "\n". The result (and the views in it) stays
  /// valid until the next call.
  const std::vector<CopyField>& Parse(std::string_view line);

 private:
  std::vector<CopyField> fields_;
  std::string unescaped_;
};

}  // namespace laredo::pg
