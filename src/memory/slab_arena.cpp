#include "memory/slab_arena.hpp"

#include <algorithm>
#include <cstring>

namespace laredo::memory {

SlabArena::~SlabArena() {
  for (auto* block : large_) delete[] block;
}

std::size_t SlabArena::BlockSize(std::size_t size) {
  return std::max(kMinBlock, (size + kGranule - 1) / kGranule * kGranule);
}

std::uint8_t* SlabArena::Allocate(std::size_t size) {
  if (size > kMaxSmall) {
    auto* block = new std::uint8_t[size];
    large_.insert(block);
    reserved_bytes_ += size;
    return block;
  }
  const std::size_t block_size = BlockSize(size);
  SizeClass& c = classes_[block_size / kGranule];
  if (c.free != nullptr) {
    std::uint8_t* block = c.free;
    std::memcpy(&c.free, block, sizeof(c.free));
    return block;
  }
  if (static_cast<std::size_t>(c.end - c.next) < block_size) {
    // Slabs grow per class up to a cap: few slabs for big tables, little slack for small ones.
    const std::size_t bytes = std::max(c.slab_bytes, block_size);
    slabs_.push_back(std::make_unique_for_overwrite<std::uint8_t[]>(bytes));
    reserved_bytes_ += bytes;
    c.next = slabs_.back().get();
    c.end = c.next + bytes;
    c.slab_bytes = std::min(c.slab_bytes * 2, kLargestSlab);
  }
  std::uint8_t* block = c.next;
  c.next += block_size;
  return block;
}

void SlabArena::Free(std::uint8_t* block, std::size_t size) {
  if (size > kMaxSmall) {
    large_.erase(block);
    reserved_bytes_ -= size;
    delete[] block;
    return;
  }
  SizeClass& c = classes_[BlockSize(size) / kGranule];
  std::memcpy(block, &c.free, sizeof(c.free));
  c.free = block;
}

}  // namespace laredo::memory
