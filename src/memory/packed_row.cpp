#include "memory/packed_row.hpp"

#include <cstring>

namespace laredo::memory::packed {
namespace {

void AppendVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Only reads buffers this file wrote, so no bounds are needed beyond the encoding's own.
std::uint64_t ReadVarint(const std::uint8_t*& p) {
  std::uint64_t v = 0;
  int shift = 0;
  while (*p & 0x80) {
    v |= static_cast<std::uint64_t>(*p & 0x7F) << shift;
    shift += 7;
    ++p;
  }
  v |= static_cast<std::uint64_t>(*p) << shift;
  ++p;
  return v;
}

std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

std::int64_t UnZigZag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

std::size_t VarintSize(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace

void AppendValue(std::string& out, const Value& value) {
  out.push_back(static_cast<char>(value.kind()));
  switch (value.kind()) {
    case Value::Kind::Null:
    case Value::Kind::Unchanged:
      return;
    case Value::Kind::Bool:
      out.push_back(value.AsBool() ? 1 : 0);
      return;
    case Value::Kind::Double: {
      const double d = value.AsDouble();
      char bytes[sizeof d];
      std::memcpy(bytes, &d, sizeof d);
      out.append(bytes, sizeof d);
      return;
    }
    default:
      if (value.HoldsInt()) {
        AppendVarint(out, ZigZag(value.IntPayload()));
      } else {
        const std::string& s = value.StringPayload();
        AppendVarint(out, s.size());
        out.append(s);
      }
  }
}

std::unique_ptr<std::uint8_t[]> Pack(std::string_view columns, std::uint32_t column_count) {
  // The length prefix counts itself, so solve for its own size.
  const std::size_t body = VarintSize(column_count) + columns.size();
  std::size_t total = body + 1;
  while (VarintSize(total) + body != total) total = VarintSize(total) + body;
  std::string header;
  AppendVarint(header, total);
  AppendVarint(header, column_count);
  auto buffer = std::make_unique_for_overwrite<std::uint8_t[]>(total);
  std::memcpy(buffer.get(), header.data(), header.size());
  std::memcpy(buffer.get() + header.size(), columns.data(), columns.size());
  return buffer;
}

View::View(const std::uint8_t* data) {
  const std::uint8_t* p = data;
  size_ = ReadVarint(p);
  column_count_ = static_cast<std::uint32_t>(ReadVarint(p));
  columns_ = p;
}

const std::uint8_t* View::Skip(const std::uint8_t* p) {
  const auto tag = *p++;
  if (tag == kAbsent) return p;
  switch (static_cast<Value::Kind>(tag)) {
    case Value::Kind::Null:
    case Value::Kind::Unchanged:
      return p;
    case Value::Kind::Bool:
      return p + 1;
    case Value::Kind::Double:
      return p + sizeof(double);
    case Value::Kind::Int:
    case Value::Kind::Date:
    case Value::Kind::Time:
    case Value::Kind::Timestamp:
    case Value::Kind::TimestampTz:
      ReadVarint(p);
      return p;
    default: {
      const auto length = ReadVarint(p);
      return p + length;
    }
  }
}

Value DecodeValue(std::string_view encoded) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(encoded.data());
  const auto kind = static_cast<Value::Kind>(*p++);
  switch (kind) {
    case Value::Kind::Null:
      return Value();
    case Value::Kind::Unchanged:
      return Value::Unchanged();
    case Value::Kind::Bool:
      return Value(*p != 0);
    case Value::Kind::Double: {
      double d = 0;
      std::memcpy(&d, p, sizeof d);
      return Value(d);
    }
    case Value::Kind::Int:
    case Value::Kind::Date:
    case Value::Kind::Time:
    case Value::Kind::Timestamp:
    case Value::Kind::TimestampTz:
      return Value::FromInt(kind, UnZigZag(ReadVarint(p)));
    default: {
      const auto length = ReadVarint(p);
      return Value::FromString(kind, std::string(reinterpret_cast<const char*>(p), length));
    }
  }
}

}  // namespace laredo::memory::packed
