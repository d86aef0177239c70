#include "snapshot/header.hpp"

#include <limits>

namespace laredo::snapshot::file {
namespace {

constexpr std::uint8_t kNullable = 1;
constexpr std::uint8_t kPrimaryKey = 2;
constexpr std::uint8_t kHasDefault = 4;

std::int32_t Int32(BlockCursor& in, std::uint64_t zigzag) {
  const std::int64_t v = io::UnZigZag(zigzag);
  if (v < std::numeric_limits<std::int32_t>::min() ||
      v > std::numeric_limits<std::int32_t>::max()) {
    in.Fail("a column attribute is out of range");
  }
  return static_cast<std::int32_t>(v);
}

}  // namespace

std::string EncodeHeader(const TableIdentifier& table,
                         const std::vector<ColumnDefinition>& columns) {
  std::string out;
  io::PutString(out, table.schema);
  io::PutString(out, table.table);
  io::PutVarint(out, columns.size());
  for (const auto& c : columns) {
    io::PutString(out, c.name);
    io::PutString(out, c.type);
    const std::uint8_t flags = (c.nullable ? kNullable : 0) | (c.primary_key ? kPrimaryKey : 0) |
                               (c.default_value ? kHasDefault : 0);
    out.push_back(static_cast<char>(flags));
    io::PutVarint(out, io::ZigZag(c.ordinal_position));
    io::PutVarint(out, io::ZigZag(c.primary_key_ordinal));
    io::PutVarint(out, c.type_oid);
    io::PutVarint(out, io::ZigZag(c.type_modifier));
    if (c.default_value) io::PutString(out, *c.default_value);
  }
  return out;
}

Header DecodeHeader(BlockCursor& in) {
  Header h;
  h.table.schema = std::string(in.String());
  h.table.table = std::string(in.String());
  const std::uint64_t count = in.Varint();
  if (count > in.remaining()) in.Fail("the column count exceeds the header");
  h.columns.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    ColumnDefinition c;
    c.name = std::string(in.String());
    c.type = std::string(in.String());
    const std::uint8_t flags = in.Byte();
    if ((flags & ~(kNullable | kPrimaryKey | kHasDefault)) != 0) in.Fail("unknown column flags");
    c.nullable = (flags & kNullable) != 0;
    c.primary_key = (flags & kPrimaryKey) != 0;
    c.ordinal_position = Int32(in, in.Varint());
    c.primary_key_ordinal = Int32(in, in.Varint());
    const std::uint64_t oid = in.Varint();
    if (oid > std::numeric_limits<std::uint32_t>::max()) in.Fail("a type oid is out of range");
    c.type_oid = static_cast<std::uint32_t>(oid);
    c.type_modifier = Int32(in, in.Varint());
    if ((flags & kHasDefault) != 0) c.default_value = std::string(in.String());
    h.columns.push_back(std::move(c));
  }
  if (!in.empty()) in.Fail("bytes after the last column of the header");
  return h;
}

}  // namespace laredo::snapshot::file
