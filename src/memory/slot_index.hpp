#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace laredo::memory {

/// An open-addressing hash table (linear probing, backward-shift deletion) of row slot numbers.
/// It stores only (hash, slot) pairs, 8 bytes each; key equality is decided by the caller, which
/// can read the key from the slot's row. The stored hash spares most probes a visit to the row.
/// The table grows by half (not doubling), its size any number (a hash maps to its home entry by
/// multiplication, not masking), so the load stays between 0.58 and 0.875: 9-14 bytes per row.
/// Not thread-safe; the owner locks.
class SlotIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

  /// The slot of the entry with `hash` for which `matches(slot)` holds, or kNone.
  template <typename Matches>
  [[nodiscard]] std::uint32_t Find(std::uint32_t hash, Matches&& matches) const {
    if (entries_.empty()) return kNone;
    for (std::size_t i = Home(hash);; i = Next(i)) {
      const Entry& e = entries_[i];
      if (e.slot == kNone) return kNone;
      if (e.hash == hash && matches(e.slot)) return e.slot;
    }
  }

  void Insert(std::uint32_t hash, std::uint32_t slot);
  /// Removes the entry (hash, slot); false when absent.
  bool Erase(std::uint32_t hash, std::uint32_t slot);
  /// Points the entry (hash, old_slot) at new_slot; false when absent.
  bool Reassign(std::uint32_t hash, std::uint32_t old_slot, std::uint32_t new_slot);
  void Clear();
  /// Sizes an empty table for `n` entries at once (a bulk load), so it never grows on the way.
  void Reserve(std::size_t n);
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t MemoryBytes() const { return entries_.capacity() * sizeof(Entry); }

 private:
  struct Entry {
    std::uint32_t hash = 0;
    std::uint32_t slot = kNone;
  };
  [[nodiscard]] std::size_t Home(std::uint32_t hash) const {
    return static_cast<std::size_t>((std::uint64_t{hash} * entries_.size()) >> 32);
  }
  [[nodiscard]] std::size_t Next(std::size_t i) const {
    return i + 1 == entries_.size() ? 0 : i + 1;
  }
  [[nodiscard]] std::size_t Locate(std::uint32_t hash, std::uint32_t slot) const;
  void Grow();

  std::vector<Entry> entries_;
  std::size_t size_ = 0;
};

}  // namespace laredo::memory
