#include "type_resolver.hpp"

#include <fmt/format.h>

#include <string>

#include "type_mapping.hpp"

namespace laredo::pg {

std::uint32_t TypeResolver::ValueType(std::uint32_t type_oid) {
  if (IsMappedType(type_oid)) return type_oid;
  if (auto it = known_.find(type_oid); it != known_.end()) return it->second;
  std::uint32_t oid = type_oid;
  // A domain over a domain: follow the chain (bounded: a chain cannot be a cycle, but a broken
  // catalog must not loop forever).
  for (int depth = 0; depth < 32; ++depth) {
    auto result = Connection().ExecParams(
        "SELECT typbasetype::int8 FROM pg_type WHERE oid = $1::int8::oid AND typtype = 'd'",
        {std::to_string(oid)}, fmt::format("reading type {}", oid));
    if (PQntuples(result.get()) != 1) break;
    oid = static_cast<std::uint32_t>(std::stoull(GetValue(result.get(), 0, 0).value_or("0")));
  }
  known_[type_oid] = oid;
  return oid;
}

PgConnection& TypeResolver::Connection() {
  if (!conn_) conn_ = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo types");
  return *conn_;
}

BinaryType TypeResolver::BinaryTypeOf(std::uint32_t type_oid) {
  if (const auto builtin = BuiltinBinaryType(type_oid)) return *builtin;
  if (auto it = binary_known_.find(type_oid); it != binary_known_.end()) return it->second;
  const auto found = LookUpBinaryType(type_oid, 0);
  binary_known_[type_oid] = found;
  return found;
}

BinaryType TypeResolver::LookUpBinaryType(std::uint32_t type_oid, int depth) {
  if (const auto builtin = BuiltinBinaryType(type_oid)) return *builtin;
  // Bounded: a catalog cannot nest domains and arrays forever, but a broken one must not loop.
  if (depth > 32) return {};
  auto result = Connection().ExecParams(
      "SELECT typtype, typbasetype::int8, typelem::int8, typsend = 'array_send'::regproc "
      "FROM pg_type WHERE oid = $1::int8::oid",
      {std::to_string(type_oid)}, fmt::format("reading type {}", type_oid));
  if (PQntuples(result.get()) != 1) return {};
  const auto typtype = GetValue(result.get(), 0, 0).value_or("");
  const auto base = std::stoull(GetValue(result.get(), 0, 1).value_or("0"));
  const auto element = std::stoull(GetValue(result.get(), 0, 2).value_or("0"));
  const bool is_array = GetValue(result.get(), 0, 3).value_or("f") == "t";
  if (typtype == "d") return LookUpBinaryType(static_cast<std::uint32_t>(base), depth + 1);
  if (typtype == "e") return {.kind = BinaryType::Kind::Enum};
  if (!is_array || element == 0) return {};
  const auto element_oid = static_cast<std::uint32_t>(element);
  const auto of = LookUpBinaryType(element_oid, depth + 1);
  if (of.kind == BinaryType::Kind::Scalar) {
    return {
        .kind = BinaryType::Kind::Array, .scalar_oid = of.scalar_oid, .element_oid = element_oid};
  }
  if (of.kind == BinaryType::Kind::Enum) {
    return {.kind = BinaryType::Kind::Array, .element_oid = element_oid, .element_is_enum = true};
  }
  return {};
}

}  // namespace laredo::pg
