#include "fast_row.hpp"

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "decoder_table.hpp"
#include "laredo/error.hpp"
#include "value_mapping.hpp"

namespace laredo::kinesis::contract {
namespace {

// JSON's white space, as nlohmann's lexer skips it.
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsContinuation(unsigned char c) { return (c & 0xC0U) == 0x80U; }

// Length of the UTF-8 sequence at `p` (first byte >= 0x80), 0 when invalid: RFC 3629, the ranges
// nlohmann accepts (no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t Utf8Length(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  const auto left = static_cast<std::size_t>(end - p);
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && IsContinuation(p[1]) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !IsContinuation(p[1]) || !IsContinuation(p[2])) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  // overlong
    if (c == 0xED && p[1] > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !IsContinuation(p[1]) || !IsContinuation(p[2]) || !IsContinuation(p[3])) {
      return 0;
    }
    if (c == 0xF0 && p[1] < 0x90) return 0;  // overlong
    if (c == 0xF4 && p[1] > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

class Parser {
 public:
  explicit Parser(std::string_view text)
      : p_(reinterpret_cast<const unsigned char*>(text.data())),  // NOLINT
        end_(p_ + text.size()) {}

  void SkipSpace() {
    while (p_ != end_ && IsSpace(static_cast<char>(*p_))) ++p_;
  }
  bool AtEnd() const { return p_ == end_; }
  bool Eat(char c) {
    if (p_ == end_ || *p_ != static_cast<unsigned char>(c)) return false;
    ++p_;
    return true;
  }
  [[nodiscard]] int Peek() const { return p_ == end_ ? -1 : *p_; }
  [[nodiscard]] const char* Here() const { return reinterpret_cast<const char*>(p_); }  // NOLINT

  // A string at '"' into `out`, unescaped. `plain` says it had no escapes, so its JSON text is
  // what nlohmann writes back (when it has no control characters, which JSON forbids raw).
  bool String(std::string& out, bool& plain) {
    if (!Eat('"')) return false;
    out.clear();
    plain = true;
    const unsigned char* run = p_;
    while (true) {
      if (p_ == end_) return false;
      const unsigned char c = *p_;
      if (c == '"') break;
      if (c < 0x20) return false;
      if (c < 0x80 && c != '\\') {
        ++p_;
        continue;
      }
      if (c >= 0x80) {
        const std::size_t n = Utf8Length(p_, end_);
        if (n == 0) return false;
        p_ += n;
        continue;
      }
      // An escape; \u (surrogate pairs and all) is left to the tree path.
      out.append(reinterpret_cast<const char*>(run), p_ - run);  // NOLINT
      plain = false;
      if (end_ - p_ < 2) return false;
      switch (p_[1]) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        default:
          return false;
      }
      p_ += 2;
      run = p_;
    }
    out.append(reinterpret_cast<const char*>(run), p_ - run);  // NOLINT
    ++p_;
    return true;
  }

  // A number token; `integral` when it has neither fraction nor exponent.
  bool Number(std::string_view& token, bool& integral) {
    const unsigned char* start = p_;
    Eat('-');
    if (Eat('0')) {
      // JSON allows no leading zeros.
    } else if (p_ != end_ && *p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    integral = true;
    if (Eat('.')) {
      integral = false;
      if (!Digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
    }
    token = {reinterpret_cast<const char*>(start), static_cast<std::size_t>(p_ - start)};  // NOLINT
    return true;
  }

  bool Literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size()) return false;
    if (std::string_view(Here(), word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  // Past one nested object or array at '{' or '['; brackets matched outside strings. The text is
  // checked by whoever reads it (CompactJson or nlohmann).
  bool SkipNested() {
    int depth = 0;
    while (p_ != end_) {
      const unsigned char c = *p_;
      if (c == '"') {
        std::string ignored;
        bool plain = false;
        if (!String(ignored, plain)) return false;
        continue;
      }
      ++p_;
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return true;
      }
    }
    return false;
  }

 private:
  bool Digits() {
    const unsigned char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ != start;
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

// Whether `text` is exactly what nlohmann's dump() writes for the value it holds: no white
// space, object keys in strictly increasing byte order (so no duplicates), strings without
// escapes, integers of at most 18 digits (int64 either way, "-0" excluded), no fractions.
bool IsCompactJson(Parser& in, int depth = 0) {
  if (depth > 64) return false;
  std::string text;
  bool plain = false;
  switch (in.Peek()) {
    case '{': {
      in.Eat('{');
      if (in.Eat('}')) return true;
      std::string last;
      bool first = true;
      do {
        if (!in.String(text, plain) || !plain) return false;
        if (!first && !(last < text)) return false;
        first = false;
        last.swap(text);
        if (!in.Eat(':') || !IsCompactJson(in, depth + 1)) return false;
      } while (in.Eat(','));
      return in.Eat('}');
    }
    case '[':
      in.Eat('[');
      if (in.Eat(']')) return true;
      do {
        if (!IsCompactJson(in, depth + 1)) return false;
      } while (in.Eat(','));
      return in.Eat(']');
    case '"':
      return in.String(text, plain) && plain;
    case 't':
      return in.Literal("true");
    case 'f':
      return in.Literal("false");
    case 'n':
      return in.Literal("null");
    default: {
      std::string_view token;
      bool integral = false;
      if (!in.Number(token, integral) || !integral) return false;
      const std::size_t digits = token.size() - (token.front() == '-' ? 1 : 0);
      return digits <= 18 && token != "-0";
    }
  }
}

// The JSON text nlohmann writes for a nested value, or nullopt when it does not parse.
std::optional<std::string> DumpedJson(std::string_view raw) {
  Parser check(raw);
  if (IsCompactJson(check) && check.AtEnd()) return std::string(raw);
  const auto parsed = nlohmann::json::parse(raw, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed.dump();
}

// The value of column `kind` at the parser, as ToValue would make it; nullopt for anything else.
std::optional<Value> ReadValue(Parser& in, ColumnKind kind, bool nullable, std::string& scratch) {
  switch (in.Peek()) {
    case '"': {
      bool plain = false;
      if (!in.String(scratch, plain)) return std::nullopt;
      if (kind == ColumnKind::Json) {
        // Re-serialised as nlohmann does, which is the text itself when nothing needs escaping.
        if (!plain) return std::nullopt;
        return Value::Json("\"" + scratch + "\"");
      }
      return ValueFromJsonString(std::move(scratch), kind);
    }
    case 'n':
      if (!in.Literal("null") || !nullable) return std::nullopt;
      return Value();
    case 't':
    case 'f': {
      const bool v = in.Peek() == 't';
      if (!in.Literal(v ? "true" : "false")) return std::nullopt;
      if (kind == ColumnKind::Bool || kind == ColumnKind::Unknown) return Value(v);
      if (kind == ColumnKind::Json) return Value::Json(v ? "true" : "false");
      return std::nullopt;
    }
    case '{':
    case '[': {
      if (kind != ColumnKind::Json && kind != ColumnKind::Unknown) return std::nullopt;
      const char* start = in.Here();
      if (!in.SkipNested()) return std::nullopt;
      auto text = DumpedJson({start, static_cast<std::size_t>(in.Here() - start)});
      if (!text) return std::nullopt;
      return Value::Json(std::move(*text));
    }
    default: {
      std::string_view token;
      bool integral = false;
      if (!in.Number(token, integral)) return std::nullopt;
      if (!integral) {
        if (kind != ColumnKind::Double && kind != ColumnKind::Unknown) return std::nullopt;
        double d = 0;
        const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), d);
        if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
        return Value(d);
      }
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
      if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
      switch (kind) {
        case ColumnKind::Unknown:
        case ColumnKind::Int:
          return Value(v);
        case ColumnKind::Double:
          return Value(static_cast<double>(v));
        case ColumnKind::Numeric:
          return Value::Numeric(std::to_string(v));
        case ColumnKind::Json:
          return Value::Json(std::to_string(v));
        default:
          return std::nullopt;
      }
    }
  }
}

// Index of the column named `key`: the expected one first (producers usually write one order).
std::optional<std::size_t> ColumnOf(const Decoder::Table& table, const std::string& key,
                                    std::size_t guess) {
  if (guess < table.columns.size() && table.columns[guess].name == key) return guess;
  return table.names->Find(key);
}

}  // namespace

std::optional<Row> TryDecodeRowFast(const Decoder::Table& table, std::string_view line) {
  const std::size_t n = table.columns.size();
  std::vector<Value> values(n, Value::Unchanged());  // Unchanged marks "not seen yet"
  std::string key;
  std::string scratch;
  Parser in(line);
  try {
    in.SkipSpace();
    if (!in.Eat('{')) return std::nullopt;
    in.SkipSpace();
    std::size_t guess = 0;
    if (!in.Eat('}')) {
      do {
        in.SkipSpace();
        bool plain = false;
        if (!in.String(key, plain)) return std::nullopt;
        const auto column = ColumnOf(table, key, guess);
        // Columns the manifest lacks, and a column given twice, take the tree path.
        if (!column || !values[*column].IsUnchanged()) return std::nullopt;
        in.SkipSpace();
        if (!in.Eat(':')) return std::nullopt;
        in.SkipSpace();
        auto value = ReadValue(in, table.kinds[*column], table.columns[*column].nullable, scratch);
        if (!value || value->IsUnchanged()) return std::nullopt;
        values[*column] = std::move(*value);
        guess = *column + 1;
        in.SkipSpace();
      } while (in.Eat(','));
      if (!in.Eat('}')) return std::nullopt;
    }
    in.SkipSpace();
    if (!in.AtEnd()) return std::nullopt;
  } catch (const DataError&) {
    return std::nullopt;  // bad text for its type: the tree path says which column
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!values[i].IsUnchanged()) continue;
    if (!table.columns[i].nullable) return std::nullopt;  // a missing NOT NULL column
    values[i] = Value();
  }
  return Row(table.names, std::move(values));
}

}  // namespace laredo::kinesis::contract
