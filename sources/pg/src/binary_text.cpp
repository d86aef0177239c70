#include "binary_text.hpp"

#include <fmt/format.h>

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>

#include "binary_datetime.hpp"
#include "type_mapping.hpp"

namespace laredo::pg {
namespace {

constexpr std::uint32_t kInterval = 1186;
constexpr std::uint32_t kTimeTz = 1266;

// "char": the byte itself, or \ooo for a byte with the high bit set (charout); NUL is empty.
void AppendChar(std::string_view bytes, std::string& out) {
  if (bytes.size() > 1) throw InvalidBinary{"\"char\" of more than one byte"};
  if (bytes.empty() || bytes[0] == '\0') return;
  const auto c = static_cast<unsigned char>(bytes[0]);
  if (c < 0x80) {
    out += static_cast<char>(c);
    return;
  }
  out += '\\';
  out += static_cast<char>('0' + (c >> 6U));
  out += static_cast<char>('0' + ((c >> 3U) & 7U));
  out += static_cast<char>('0' + (c & 7U));
}

constexpr std::array<char, 16> kHexDigits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

// An array element's text, quoted as array_out quotes it.
void AppendArrayElement(std::string_view text, std::string& out) {
  bool quote =
      text.empty() || (text.size() == 4 && (text[0] | 0x20) == 'n' && (text[1] | 0x20) == 'u' &&
                       (text[2] | 0x20) == 'l' && (text[3] | 0x20) == 'l');
  for (std::size_t i = 0; !quote && i < text.size(); ++i) {
    const char c = text[i];
    quote = c == '"' || c == '\\' || c == '{' || c == '}' || c == ',' || c == ' ' || c == '\t' ||
            c == '\n' || c == '\r' || c == '\v' || c == '\f';
  }
  if (!quote) {
    out += text;
    return;
  }
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

InvalidBinary::InvalidBinary(std::string_view context, std::size_t offset, std::size_t size,
                             const std::string& expected)
    : why(fmt::format("{}at byte {} of {}: expected {}", context, offset, size, expected)) {}

BinaryReader::BinaryReader(std::string_view bytes)
    : ByteReader(std::as_bytes(std::span(bytes.data(), bytes.size())), "") {}

void AppendNumericText(std::string_view bytes, std::string& out) {
  BinaryReader in(bytes);
  const auto ndigits = in.Count16("Int16 number of digits");
  const auto weight = in.I16("Int16 weight");
  const auto sign = in.U16("UInt16 sign");
  const auto dscale = in.U16("UInt16 display scale");
  constexpr std::uint16_t kPositive = 0x0000;
  constexpr std::uint16_t kNegative = 0x4000;
  constexpr std::uint16_t kNaN = 0xC000;
  constexpr std::uint16_t kPlusInfinity = 0xD000;
  constexpr std::uint16_t kMinusInfinity = 0xF000;
  if (sign == kNaN || sign == kPlusInfinity || sign == kMinusInfinity) {
    if (ndigits != 0) throw InvalidBinary{"digits in a special numeric"};
    in.ExpectEnd();
    out += sign == kNaN ? "NaN" : (sign == kPlusInfinity ? "Infinity" : "-Infinity");
    return;
  }
  if (sign != kPositive && sign != kNegative) throw InvalidBinary{"unknown numeric sign"};
  if (dscale > 0x3FFF) throw InvalidBinary{"display scale out of range"};
  const auto raw = in.Bytes(2 * ndigits, "base-10000 digits");
  in.ExpectEnd();
  const auto digit_at = [&](std::int64_t index) -> std::uint16_t {
    if (index < 0 || index >= static_cast<std::int64_t>(ndigits)) return 0;
    const auto i = static_cast<std::size_t>(index) * 2;
    return static_cast<std::uint16_t>(static_cast<unsigned char>(raw[i]) << 8U |
                                      static_cast<unsigned char>(raw[i + 1]));
  };
  for (std::size_t i = 0; i < ndigits; ++i) {
    if (digit_at(static_cast<std::int64_t>(i)) > 9999) {
      throw InvalidBinary{"numeric digit out of range"};
    }
  }
  if (sign == kNegative) out += '-';
  if (weight < 0) {
    out += '0';
  } else {
    fmt::format_to(std::back_inserter(out), "{}", digit_at(0));
    for (std::int64_t i = 1; i <= weight; ++i) {
      fmt::format_to(std::back_inserter(out), "{:04}", digit_at(i));
    }
  }
  if (dscale == 0) return;
  out += '.';
  std::size_t written = 0;
  for (std::int64_t index = weight + 1; written < dscale; ++index) {
    std::array<char, 4> four{};
    std::uint16_t d = digit_at(index);
    for (int k = 3; k >= 0; --k) {
      four[static_cast<std::size_t>(k)] = static_cast<char>('0' + d % 10);
      d /= 10;
    }
    const std::size_t take = std::min<std::size_t>(4, dscale - written);
    out.append(four.data(), take);
    written += take;
  }
}

void AppendFloatText(double value, bool is_float4, std::string& out) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "Infinity" : "-Infinity";
    return;
  }
  // Shortest digits that read back exactly, in %g's layout: fixed for a decimal exponent from -4
  // to below the type's DIG (6 or 15), else d.ddde+XX.
  std::array<char, 64> buf{};
  const auto scientific =
      is_float4 ? std::to_chars(buf.data(), buf.data() + buf.size(), static_cast<float>(value),
                                std::chars_format::scientific)
                : std::to_chars(buf.data(), buf.data() + buf.size(), value,
                                std::chars_format::scientific);
  const std::string_view text(buf.data(), static_cast<std::size_t>(scientific.ptr - buf.data()));
  const auto e = text.find('e');
  int exponent = 0;
  std::from_chars(text.data() + e + 1 + (text[e + 1] == '+' ? 1 : 0), text.data() + text.size(),
                  exponent);
  const int digits_limit = is_float4 ? 6 : 15;
  if (exponent < -4 || exponent >= digits_limit) {
    out += text;
    return;
  }
  const auto fixed = is_float4 ? std::to_chars(buf.data(), buf.data() + buf.size(),
                                               static_cast<float>(value), std::chars_format::fixed)
                               : std::to_chars(buf.data(), buf.data() + buf.size(), value,
                                               std::chars_format::fixed);
  out.append(buf.data(), fixed.ptr);
}

bool HasBinaryDecoder(std::uint32_t type_oid) {
  switch (type_oid) {
    case oid::kBool:
    case oid::kBytea:
    case oid::kChar:
    case oid::kName:
    case oid::kInt8:
    case oid::kInt2:
    case oid::kInt4:
    case oid::kText:
    case oid::kOid:
    case oid::kJson:
    case oid::kFloat4:
    case oid::kFloat8:
    case oid::kBpchar:
    case oid::kVarchar:
    case oid::kDate:
    case oid::kTime:
    case oid::kTimestamp:
    case oid::kTimestampTz:
    case oid::kNumeric:
    case oid::kUuid:
    case oid::kJsonb:
    case kInterval:
    case kTimeTz:
      return true;
    default:
      return false;
  }
}

void AppendScalarText(std::uint32_t type_oid, std::string_view bytes, std::string& out) {
  switch (type_oid) {
    case oid::kBool: {
      if (bytes.size() != 1) throw InvalidBinary{"bool of other than one byte"};
      out += bytes[0] != 0 ? 't' : 'f';
      return;
    }
    case oid::kInt2:
      fmt::format_to(std::back_inserter(out), "{}", ReadExactly<std::int16_t>(bytes, "Int16"));
      return;
    case oid::kInt4:
      fmt::format_to(std::back_inserter(out), "{}", ReadExactly<std::int32_t>(bytes, "Int32"));
      return;
    case oid::kOid:
      fmt::format_to(std::back_inserter(out), "{}", ReadExactly<std::uint32_t>(bytes, "UInt32"));
      return;
    case oid::kInt8:
      fmt::format_to(std::back_inserter(out), "{}", ReadExactly<std::int64_t>(bytes, "Int64"));
      return;
    case oid::kFloat4:
      AppendFloatText(std::bit_cast<float>(ReadExactly<std::uint32_t>(bytes, "float4")), true, out);
      return;
    case oid::kFloat8:
      AppendFloatText(std::bit_cast<double>(ReadExactly<std::int64_t>(bytes, "float8")), false,
                      out);
      return;
    case oid::kNumeric:
      AppendNumericText(bytes, out);
      return;
    case oid::kChar:
      AppendChar(bytes, out);
      return;
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
    case oid::kName:
    case oid::kJson:
      out += bytes;
      return;
    case oid::kJsonb:
      if (bytes.empty() || bytes[0] != 1) throw InvalidBinary{"jsonb without version byte 1"};
      out += bytes.substr(1);
      return;
    case oid::kBytea:
      out += "\\x";
      for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out += kHexDigits[b >> 4U];  // NOLINT: 0..15
        out += kHexDigits[b & 15U];  // NOLINT: 0..15
      }
      return;
    case oid::kUuid: {
      if (bytes.size() != 16) throw InvalidBinary{"uuid of other than 16 bytes"};
      for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        const auto b = static_cast<unsigned char>(bytes[i]);
        out += kHexDigits[b >> 4U];  // NOLINT: 0..15
        out += kHexDigits[b & 15U];  // NOLINT: 0..15
      }
      return;
    }
    case oid::kDate:
      AppendDateText(ReadExactly<std::int32_t>(bytes, "Int32 date"), out);
      return;
    case oid::kTime:
      AppendTimeText(ReadExactly<std::int64_t>(bytes, "Int64 time"), out);
      return;
    case oid::kTimestamp:
    case oid::kTimestampTz:
      AppendTimestampText(ReadExactly<std::int64_t>(bytes, "Int64 timestamp"),
                          type_oid == oid::kTimestampTz, out);
      return;
    case kInterval:
      AppendIntervalText(bytes, out);
      return;
    case kTimeTz:
      AppendTimeTzText(bytes, out);
      return;
    default:
      throw InvalidBinary{fmt::format("no binary decoder for {}", TypeName(type_oid))};
  }
}

std::string ArrayText(std::string_view bytes, std::uint32_t element_oid, std::uint32_t element_type,
                      bool element_is_enum) {
  BinaryReader in(bytes);
  const auto ndim = in.I32("Int32 number of dimensions");
  const auto has_null = in.I32("Int32 null flag");
  const auto header_oid = in.U32("UInt32 element type");
  constexpr std::int32_t kMaxDim = 6;  // PostgreSQL's MAXDIM
  if (ndim < 0 || ndim > kMaxDim) throw InvalidBinary{"number of dimensions out of range"};
  if (has_null != 0 && has_null != 1) throw InvalidBinary{"null flag other than 0 or 1"};
  if (header_oid != element_oid) {
    throw InvalidBinary{
        fmt::format("element type {} where {} was expected", header_oid, element_oid)};
  }
  std::array<std::int64_t, kMaxDim> size{};
  std::array<std::int64_t, kMaxDim> lower{};
  std::int64_t count = ndim == 0 ? 0 : 1;
  bool default_bounds = true;
  for (std::int32_t d = 0; d < ndim; ++d) {
    const auto n = in.I32("Int32 dimension size");
    const auto lb = in.I32("Int32 lower bound");
    if (n < 0) throw InvalidBinary{"negative dimension size"};
    size[static_cast<std::size_t>(d)] = n;
    lower[static_cast<std::size_t>(d)] = lb;
    default_bounds = default_bounds && lb == 1;
    count *= n;
    // Each element takes at least its 4-byte length: more than the bytes left is malformed.
    if (count > static_cast<std::int64_t>(in.remaining() / 4)) {
      throw InvalidBinary{"more elements than bytes"};
    }
  }
  std::string out;
  if (count == 0) {
    in.ExpectEnd();
    return "{}";
  }
  if (!default_bounds) {
    for (std::int32_t d = 0; d < ndim; ++d) {
      const auto i = static_cast<std::size_t>(d);
      fmt::format_to(std::back_inserter(out), "[{}:{}]", lower[i], lower[i] + size[i] - 1);
    }
    out += '=';
  }
  // Nesting as array_out writes it: '{' opens each dimension, ',' separates, '}' closes.
  std::array<std::int64_t, kMaxDim> index{};
  std::string element;
  for (std::int32_t d = 0; d < ndim; ++d) out += '{';
  for (std::int64_t k = 0; k < count; ++k) {
    const auto at = in.offset();
    const auto len = in.I32("Int32 element length");
    if (len == -1) {
      if (has_null == 0) in.FailAt(at, "no NULL element in an array without nulls");
      out += "NULL";
    } else {
      if (len < 0) in.FailAt(at, "element length -1 or more");
      const auto data = in.Bytes(static_cast<std::size_t>(len), "element");
      element.clear();
      if (element_is_enum) {
        element = data;
      } else {
        AppendScalarText(element_type, data, element);
      }
      AppendArrayElement(element, out);
    }
    // Close the dimensions that end here, then separate from the next element.
    auto d = static_cast<std::size_t>(ndim - 1);
    for (;;) {
      if (++index[d] < size[d]) {  // NOLINT: d < ndim
        out += ',';
        break;
      }
      index[d] = 0;  // NOLINT: d < ndim
      out += '}';
      if (d == 0) break;
      --d;
    }
    // After the last element every dimension closed; after an inner row, re-open it.
    if (k + 1 < count) {
      for (auto o = d + 1; o < static_cast<std::size_t>(ndim); ++o) out += '{';
    }
  }
  in.ExpectEnd();
  return out;
}

}  // namespace laredo::pg
