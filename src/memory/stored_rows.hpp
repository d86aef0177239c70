#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memory/row_codec.hpp"
#include "memory/slot_storage.hpp"

namespace laredo::memory {

/// What the indexes need of the stored rows: the key bytes of a slot's row, to tell apart
/// entries whose hashes collide. A view; as thread-safe as the codec's reading side.
struct StoredRows {
  const SlotStorage& storage;
  const RowCodec& codec;

  [[nodiscard]] bool KeyEquals(std::uint32_t slot, const std::vector<std::uint32_t>& columns,
                               std::string_view key) const {
    // Reused per thread: a key longer than the small-string buffer allocates once, not per probe.
    thread_local std::string candidate;
    candidate.clear();
    codec.AppendKeyOf(storage.Data(slot), columns, candidate);
    return candidate == key;
  }
  [[nodiscard]] std::string KeyOf(std::uint32_t slot,
                                  const std::vector<std::uint32_t>& columns) const {
    std::string key;
    codec.AppendKeyOf(storage.Data(slot), columns, key);
    return key;
  }
};

/// The 32-bit hash the slot indexes store for a canonical key.
inline std::uint32_t HashKey(std::string_view key) {
  const auto h = std::hash<std::string_view>{}(key);
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

}  // namespace laredo::memory
