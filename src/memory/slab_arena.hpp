#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

namespace laredo::memory {

/// Memory for stored rows without malloc's per-allocation header and 16-byte rounding, which cost
/// a 130-byte row about 20 bytes. Blocks up to `kMaxSmall` bytes come from slabs of one size
/// class each (sizes rounded up to 4 bytes) and return to that class's free list; larger ones are
/// allocated one by one. Callers give the block's size back when freeing (a stored row knows its
/// size), so blocks carry no header. Not thread-safe; the owner locks.
class SlabArena {
 public:
  static constexpr std::size_t kMaxSmall = 1024;

  SlabArena() = default;
  SlabArena(const SlabArena&) = delete;
  SlabArena& operator=(const SlabArena&) = delete;
  ~SlabArena();

  /// A block of at least `size` bytes, unaligned (rows are read bytewise).
  std::uint8_t* Allocate(std::size_t size);
  /// Returns a block that `Allocate(size)` gave.
  void Free(std::uint8_t* block, std::size_t size);
  /// Bytes taken from the system: slabs (used or not) and large blocks.
  [[nodiscard]] std::size_t ReservedBytes() const { return reserved_bytes_; }

 private:
  static constexpr std::size_t kGranule = 4;
  static constexpr std::size_t kMinBlock = sizeof(void*);  // a free block holds the next one
  static constexpr std::size_t kFirstSlab = std::size_t{4} * 1024;  // small tables stay small
  static constexpr std::size_t kLargestSlab = std::size_t{256} * 1024;
  struct SizeClass {
    std::uint8_t* free = nullptr;  // freed blocks, linked through their first bytes
    std::uint8_t* next = nullptr;  // unused rest of the newest slab
    std::uint8_t* end = nullptr;
    std::size_t slab_bytes = kFirstSlab;
  };
  static std::size_t BlockSize(std::size_t size);

  std::array<SizeClass, kMaxSmall / kGranule + 1> classes_{};
  std::vector<std::unique_ptr<std::uint8_t[]>> slabs_;
  std::unordered_set<std::uint8_t*> large_;
  std::size_t reserved_bytes_ = 0;
};

}  // namespace laredo::memory
