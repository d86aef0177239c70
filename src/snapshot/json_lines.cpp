#include "laredo/snapshot/json_lines.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::snapshot {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxExactInJson = std::int64_t{1} << 53;

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (i < in.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size())
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

json ToJson(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Null:
      return nullptr;
    case Value::Kind::Unchanged:
      throw DataError(codes::kBadSnapshot, "a JSON-lines export cannot hold Value::Unchanged()");
    case Value::Kind::Bool:
      return v.AsBool();
    case Value::Kind::Int: {
      const std::int64_t i = v.AsInt();
      if (i > kMaxExactInJson || i < -kMaxExactInJson) return std::to_string(i);
      return i;
    }
    case Value::Kind::Double: {
      const double d = v.AsDouble();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return d;
    }
    case Value::Kind::Json: {
      json parsed = json::parse(v.AsJson(), nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) return v.AsJson();
      return parsed;
    }
    case Value::Kind::Bytes:
      return Base64(v.AsBytes());
    case Value::Kind::Text:
    case Value::Kind::Numeric:
    case Value::Kind::Uuid:
      return v.StringPayload();
    case Value::Kind::Date:
    case Value::Kind::Time:
    case Value::Kind::Timestamp:
    case Value::Kind::TimestampTz:
      return v.ToString();
  }
  return nullptr;
}

}  // namespace

void JsonLinesWriter::Write(const Row& row) {
  json object = json::object();
  for (const auto& [name, value] : row) object[name] = ToJson(value);
  // Invalid UTF-8 in text is replaced rather than failing the export: it is for reading.
  out_ << object.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  ++rows_;
}

std::uint64_t ExportJsonLines(RowReader& rows, std::ostream& out) {
  JsonLinesWriter writer(out);
  Row row;
  while (rows.Next(row)) writer.Write(row);
  return writer.rows();
}

}  // namespace laredo::snapshot
