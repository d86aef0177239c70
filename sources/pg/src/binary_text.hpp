#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "byte_reader.hpp"

namespace laredo::pg {

/// Why a binary value was refused. Thrown by the binary decoders and turned into a `DataError`
/// naming table, column and type by their callers (the change assembler, the binary COPY).
struct InvalidBinary {
  /// What `ByteReader` reports: where it stopped and what it expected there.
  InvalidBinary(std::string_view context, std::size_t offset, std::size_t size,
                const std::string& expected);
  explicit InvalidBinary(std::string why_text) : why(std::move(why_text)) {}
  std::string why;
};

/// Big-endian, bounds-checked reads over one binary value.
class BinaryReader : public ByteReader<InvalidBinary> {
 public:
  explicit BinaryReader(std::string_view bytes);
};

/// A value of exactly the integer's width (Int16, Int32 or Int64, big-endian), as the fixed-size
/// types send it; anything shorter or longer throws `InvalidBinary`.
template <class Int>
Int ReadExactly(std::string_view bytes, std::string_view what) {
  BinaryReader in(bytes);
  std::uint64_t v = 0;
  if constexpr (sizeof(Int) == 2) {
    v = in.U16(what);
  } else if constexpr (sizeof(Int) == 4) {
    v = in.U32(what);
  } else {
    static_assert(sizeof(Int) == 8);
    v = in.U64(what);
  }
  in.ExpectEnd();
  return static_cast<Int>(v);
}

// PostgreSQL's text output of values received in their binary send format, byte for byte what
// the server writes under the source's session settings (DateStyle=ISO, IntervalStyle=postgres,
// TimeZone=UTC, extra_float_digits>0, bytea_output=hex). Used where text mode yields the text
// itself as a `Value` (interval, timetz, "char", arrays) and for the numeric's exact digits.
// Each appends to `out` and throws `InvalidBinary` for bytes the type's send function never
// writes.

/// numeric: "NaN", "Infinity", "-Infinity" or the digits with exactly dscale decimals.
void AppendNumericText(std::string_view bytes, std::string& out);
/// float4 (`is_float4`) or float8 value, shortest exact digits as float4out/float8out write them.
void AppendFloatText(double value, bool is_float4, std::string& out);
/// The text output of one value of built-in type `type_oid` (one of `HasBinaryDecoder`'s)
/// from its binary form.
void AppendScalarText(std::uint32_t type_oid, std::string_view bytes, std::string& out);

/// Whether `AppendScalarText` (and `BinaryToValue`) knows the binary form of built-in `type_oid`.
bool HasBinaryDecoder(std::uint32_t type_oid);

/// A one- or more-dimensional array in array_send's format -> array_out's text ("{1,NULL,"a b"}",
/// "[0:1]={x,y}"). The header must name `element_oid`; each element goes through
/// `AppendScalarText(element_type, ...)`, or is taken as its label when `element_is_enum`.
std::string ArrayText(std::string_view bytes, std::uint32_t element_oid, std::uint32_t element_type,
                      bool element_is_enum);

}  // namespace laredo::pg
