#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "memory/slab_arena.hpp"

namespace laredo::memory {

/// Stored rows by slot number: the indexes refer to rows by these 4-byte numbers, and a freed
/// slot is reused by the next row. The bytes live in a `SlabArena`. Callers pass a row's size
/// when replacing or removing it (the codec reads it from the row). Not thread-safe; the owner
/// locks.
class SlotStorage {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

  /// Copies `bytes` into a free slot and returns its number.
  std::uint32_t Add(std::string_view bytes);
  /// Room for `n` slots at once (a bulk load), so the slot table is not copied as it grows.
  void Reserve(std::size_t n) { slots_.reserve(n); }
  /// Replaces the row in `slot` (of `old_size` bytes) by `bytes`.
  void Replace(std::uint32_t slot, std::size_t old_size, std::string_view bytes);
  /// Frees `slot` (holding `old_size` bytes).
  void Remove(std::uint32_t slot, std::size_t old_size);

  [[nodiscard]] const std::uint8_t* Data(std::uint32_t slot) const { return slots_[slot]; }
  /// Calls `fn(slot)` for every occupied slot.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
      if (slots_[slot] != nullptr) fn(slot);
    }
  }
  [[nodiscard]] std::size_t count() const { return count_; }
  /// Bytes of rows stored (their encodings, not the arena's slack).
  [[nodiscard]] std::size_t row_bytes() const { return row_bytes_; }
  /// Everything held: the arena's slabs and the slot tables.
  [[nodiscard]] std::size_t MemoryUsage() const;

 private:
  std::uint8_t* Copy(std::string_view bytes);

  SlabArena arena_;
  std::vector<std::uint8_t*> slots_;  // null: free
  std::vector<std::uint32_t> free_slots_;
  std::size_t count_ = 0;
  std::size_t row_bytes_ = 0;
};

}  // namespace laredo::memory
