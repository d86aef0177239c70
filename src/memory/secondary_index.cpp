#include "memory/secondary_index.hpp"

namespace laredo::memory {

SecondaryIndex::SecondaryIndex(IndexDefinition definition, std::vector<std::uint32_t> columns)
    : definition_(std::move(definition)), columns_(std::move(columns)) {}

std::uint32_t SecondaryIndex::FindHolder(const std::string& key, const StoredRows& rows) const {
  return unique_.Find(HashKey(key),
                      [&](std::uint32_t slot) { return rows.KeyEquals(slot, columns_, key); });
}

void SecondaryIndex::Add(std::uint32_t slot, const StoredRows& rows) {
  std::string key = rows.KeyOf(slot, columns_);
  if (!definition_.unique) {
    multi_[std::move(key)].insert(slot);
    return;
  }
  const auto holder = FindHolder(key, rows);
  if (holder == SlotIndex::kNone) {
    unique_.Insert(HashKey(key), slot);
  } else if (holder != slot) {
    // The row written last answers lookups; the earlier holder waits behind it.
    shadowed_[key].insert(holder);
    unique_.Reassign(HashKey(key), holder, slot);
  }
}

void SecondaryIndex::Remove(std::uint32_t slot, const StoredRows& rows) {
  const std::string key = rows.KeyOf(slot, columns_);
  if (!definition_.unique) {
    if (auto it = multi_.find(key); it != multi_.end()) {
      it->second.erase(slot);
      if (it->second.empty()) multi_.erase(it);
    }
    return;
  }
  auto shadow = shadowed_.find(key);
  if (FindHolder(key, rows) == slot) {
    if (shadow != shadowed_.end()) {  // the key passes to a holder that waited
      const auto next = *shadow->second.begin();
      shadow->second.erase(shadow->second.begin());
      if (shadow->second.empty()) shadowed_.erase(shadow);
      unique_.Reassign(HashKey(key), slot, next);
    } else {
      unique_.Erase(HashKey(key), slot);
    }
  } else if (shadow != shadowed_.end()) {
    shadow->second.erase(slot);
    if (shadow->second.empty()) shadowed_.erase(shadow);
  }
}

}  // namespace laredo::memory
