#include "memory/slot_index.hpp"

#include <algorithm>

namespace laredo::memory {
namespace {
constexpr std::size_t kInitialCapacity = 16;
}  // namespace

void SlotIndex::Insert(std::uint32_t hash, std::uint32_t slot) {
  // Keep the load at or under 7/8 so probe runs stay short.
  if ((size_ + 1) * 8 > entries_.size() * 7) Grow();
  std::size_t i = Home(hash);
  while (entries_[i].slot != kNone) i = Next(i);
  entries_[i] = Entry{hash, slot};
  ++size_;
}

std::size_t SlotIndex::Locate(std::uint32_t hash, std::uint32_t slot) const {
  if (entries_.empty()) return entries_.size();
  for (std::size_t i = Home(hash);; i = Next(i)) {
    if (entries_[i].slot == kNone) return entries_.size();
    if (entries_[i].hash == hash && entries_[i].slot == slot) return i;
  }
}

bool SlotIndex::Erase(std::uint32_t hash, std::uint32_t slot) {
  std::size_t i = Locate(hash, slot);
  if (i == entries_.size()) return false;
  // Backward shift: pull later members of the probe run into the hole.
  for (std::size_t j = Next(i);; j = Next(j)) {
    if (entries_[j].slot == kNone) break;
    const std::size_t home = Home(entries_[j].hash);
    const bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    entries_[i] = entries_[j];
    i = j;
  }
  entries_[i] = Entry{};
  --size_;
  return true;
}

bool SlotIndex::Reassign(std::uint32_t hash, std::uint32_t old_slot, std::uint32_t new_slot) {
  const std::size_t i = Locate(hash, old_slot);
  if (i == entries_.size()) return false;
  entries_[i].slot = new_slot;
  return true;
}

void SlotIndex::Clear() {
  entries_.clear();
  entries_.shrink_to_fit();
  size_ = 0;
}

void SlotIndex::Reserve(std::size_t n) {
  // Load 0.7 when full: inside the band Grow keeps (0.58-0.875).
  // Never below the initial capacity: Grow adds half, which a tiny table would not change.
  const std::size_t capacity = std::max(n + n * 3 / 7 + 1, kInitialCapacity);
  if (n == 0 || size_ != 0 || capacity <= entries_.size()) return;
  entries_.assign(capacity, Entry{});
}

void SlotIndex::Grow() {
  std::vector<Entry> old = std::move(entries_);
  const std::size_t capacity = old.empty() ? kInitialCapacity : old.size() + old.size() / 2;
  entries_.assign(capacity, Entry{});
  size_ = 0;
  for (const Entry& e : old) {
    if (e.slot != kNone) {
      std::size_t i = Home(e.hash);
      while (entries_[i].slot != kNone) i = Next(i);
      entries_[i] = e;
      ++size_;
    }
  }
}

}  // namespace laredo::memory
