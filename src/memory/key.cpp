#include "laredo/memory/key.hpp"

#include <cstring>

#include "memory/varint.hpp"

namespace laredo::memory {

void AppendKey(std::string& out, const Value& value) {
  out.push_back(static_cast<char>(value.kind()));
  // The payload's representation decides the encoding; the kind byte above keeps the kind.
  if (const auto* i = value.IntIf()) {
    varint::Append(out, varint::ZigZag(*i));
  } else if (const auto* s = value.StringIf()) {
    varint::Append(out, s->size());
    out.append(*s);
  } else if (const auto* d = value.DoubleIf()) {
    char bytes[sizeof(double)];
    std::memcpy(bytes, d, sizeof(double));
    out.append(bytes, sizeof(double));
  } else if (const auto* b = value.BoolIf()) {
    out.push_back(*b ? 1 : 0);
  }  // Null and Unchanged: the kind alone
}

std::string EncodeKey(const std::vector<Value>& values) {
  std::string key;
  for (const auto& v : values) AppendKey(key, v);
  return key;
}

}  // namespace laredo::memory
