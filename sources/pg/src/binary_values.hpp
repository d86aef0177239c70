#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "binary_text.hpp"
#include "laredo/table_identifier.hpp"
#include "laredo/value.hpp"

namespace laredo::pg {

/// How values of one column type are decoded from their binary send format (pgoutput's
/// `binary 'true'`, COPY's FORMAT binary). Found by `BuiltinBinaryType` for built-in types and by
/// `TypeResolver::BinaryTypeOf` for domains, enums and arrays of them.
struct BinaryType {
  enum class Kind : std::uint8_t {
    None,    // no decoder here: the column must be read in text form
    Scalar,  // `scalar_oid`'s send format (a domain's base type)
    Enum,    // the label (enum_send)
    Array,   // array_send of `element_oid`, elements decoded as `scalar_oid` or as enum labels
  };
  Kind kind = Kind::None;
  std::uint32_t scalar_oid = 0;
  std::uint32_t element_oid = 0;
  bool element_is_enum = false;

  friend bool operator==(const BinaryType&, const BinaryType&) = default;
};

/// The binary form of a built-in type or built-in array type; nullopt for any other OID (which
/// may still be a domain, an enum or an array of them: ask the catalog).
std::optional<BinaryType> BuiltinBinaryType(std::uint32_t type_oid);

/// The `Value` text mode gives the same column, from the binary form: Int, Double, Numeric,
/// Bool, Text, Bytes, Uuid, Json, Date, Time, Timestamp(Tz) as `TextToValue` maps them, and for
/// types text mode keeps as Text (interval, timetz, "char", enums, arrays) the very text the
/// server's output function writes. Pure and bounds-checked: throws `InvalidBinary` for bytes the
/// type's send function never writes (truncated, trailing bytes, out of range), never guesses.
Value BinaryToValue(const BinaryType& type, std::string_view bytes);

/// `BinaryToValue` for column `column` of `table`: an invalid value is a `DataError` (code
/// "bad_value") naming table, column and type.
Value BinaryColumnValue(const BinaryType& type, std::string_view bytes,
                        const TableIdentifier& table, std::string_view column);

/// "int4", "int4[]", "enum", ... for messages.
std::string BinaryTypeName(const BinaryType& type);

}  // namespace laredo::pg
