#include "memory/packed_row.hpp"

#include <cstring>

namespace laredo::memory::packed {
namespace {

// Writes the varint into a local buffer first: one append instead of a push_back per byte.
void AppendVarint(std::string& out, std::uint64_t v) {
  char buf[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
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
  // The payload's representation decides the encoding; the tag above keeps the kind.
  if (const auto* i = value.IntIf()) {
    AppendVarint(out, ZigZag(*i));
  } else if (const auto* s = value.StringIf()) {
    AppendVarint(out, s->size());
    out.append(*s);
  } else if (const auto* d = value.DoubleIf()) {
    char bytes[sizeof(double)];
    std::memcpy(bytes, d, sizeof(double));
    out.append(bytes, sizeof(double));
  } else if (const auto* b = value.BoolIf()) {
    out.push_back(*b ? 1 : 0);
  }  // Null and Unchanged: the tag alone
}

std::unique_ptr<std::uint8_t[]> Pack(std::string_view columns, std::uint32_t column_count) {
  // The length prefix counts itself, so solve for its own size.
  const std::size_t body = VarintSize(column_count) + columns.size();
  std::size_t total = body + 1;
  while (VarintSize(total) + body != total) total = VarintSize(total) + body;
  auto buffer = std::make_unique_for_overwrite<std::uint8_t[]>(total);
  std::uint8_t* p = buffer.get();
  for (std::uint64_t v : {static_cast<std::uint64_t>(total), std::uint64_t{column_count}}) {
    while (v >= 0x80) {
      *p++ = static_cast<std::uint8_t>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<std::uint8_t>(v);
  }
  std::memcpy(p, columns.data(), columns.size());
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
