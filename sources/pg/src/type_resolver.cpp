#include "type_resolver.hpp"

#include <fmt/format.h>

#include <string>

#include "type_mapping.hpp"

namespace laredo::pg {

std::uint32_t TypeResolver::ValueType(std::uint32_t type_oid) {
  if (IsMappedType(type_oid)) return type_oid;
  if (auto it = known_.find(type_oid); it != known_.end()) return it->second;
  if (!conn_) conn_ = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo types");
  std::uint32_t oid = type_oid;
  // A domain over a domain: follow the chain (bounded: a chain cannot be a cycle, but a broken
  // catalog must not loop forever).
  for (int depth = 0; depth < 32; ++depth) {
    auto result = conn_->ExecParams(
        "SELECT typbasetype::int8 FROM pg_type WHERE oid = $1::int8::oid AND typtype = 'd'",
        {std::to_string(oid)}, fmt::format("reading type {}", oid));
    if (PQntuples(result.get()) != 1) break;
    oid = static_cast<std::uint32_t>(std::stoull(GetValue(result.get(), 0, 0).value_or("0")));
  }
  known_[type_oid] = oid;
  return oid;
}

}  // namespace laredo::pg
