#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "binary_values.hpp"
#include "pg_connection.hpp"

namespace laredo::pg {

/// Which type's text form a column's values have: a domain's values are written as its base
/// type's (through domains over domains), so a domain over bigint gives Int values like bigint
/// does, in the baseline and in the stream alike. Every other type stands for itself.
///
/// Types the mapping knows are answered without I/O; any other OID is looked up once, on a
/// connection of the resolver's own, and remembered. Threading: one thread.
class TypeResolver {
 public:
  explicit TypeResolver(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  /// The OID to give `TextToValue` for values of declared type `type_oid`.
  std::uint32_t ValueType(std::uint32_t type_oid);

  /// How values of declared type `type_oid` decode from their binary form: built-in types
  /// without I/O, then domains (as their base type), enums, and arrays of any of these, looked up
  /// once. Kind None for every other type (composite, range, extension types...).
  BinaryType BinaryTypeOf(std::uint32_t type_oid);

 private:
  BinaryType LookUpBinaryType(std::uint32_t type_oid, int depth);
  PgConnection& Connection();

  std::string conninfo_;
  std::optional<PgConnection> conn_;
  std::unordered_map<std::uint32_t, std::uint32_t> known_;
  std::unordered_map<std::uint32_t, BinaryType> binary_known_;
};

}  // namespace laredo::pg
