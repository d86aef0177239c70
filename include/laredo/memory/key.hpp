#pragma once

#include <string>
#include <vector>

#include "laredo/value.hpp"

namespace laredo::memory {

/// The canonical byte encoding of key values that the in-memory targets hash and compare: equal
/// values give equal bytes and different kinds never collide (`Value(1)` and `Value::Date(1)`
/// differ). Pure functions, callable from any thread.
///
/// Appends `value`'s encoding (a kind byte, then a zig-zag varint for integer kinds, 8 bytes for
/// doubles, one byte for booleans, a varint length and the bytes for strings).
void AppendKey(std::string& out, const Value& value);
/// The encoding of `values`, one after the other.
[[nodiscard]] std::string EncodeKey(const std::vector<Value>& values);

}  // namespace laredo::memory
