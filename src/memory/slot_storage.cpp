#include "memory/slot_storage.hpp"

#include <cstring>

namespace laredo::memory {

std::uint8_t* SlotStorage::Copy(std::string_view bytes) {
  std::uint8_t* block = arena_.Allocate(bytes.size());
  std::memcpy(block, bytes.data(), bytes.size());
  row_bytes_ += bytes.size();
  return block;
}

std::uint32_t SlotStorage::Add(std::string_view bytes) {
  std::uint8_t* block = Copy(bytes);
  ++count_;
  if (!free_slots_.empty()) {
    const auto slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = block;
    return slot;
  }
  slots_.push_back(block);
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void SlotStorage::Replace(std::uint32_t slot, std::size_t old_size, std::string_view bytes) {
  std::uint8_t* block = Copy(bytes);
  arena_.Free(slots_[slot], old_size);
  row_bytes_ -= old_size;
  slots_[slot] = block;
}

void SlotStorage::Remove(std::uint32_t slot, std::size_t old_size) {
  arena_.Free(slots_[slot], old_size);
  row_bytes_ -= old_size;
  slots_[slot] = nullptr;
  free_slots_.push_back(slot);
  --count_;
}

std::size_t SlotStorage::MemoryUsage() const {
  return arena_.ReservedBytes() + slots_.capacity() * sizeof(slots_[0]) +
         free_slots_.capacity() * sizeof(free_slots_[0]);
}

}  // namespace laredo::memory
