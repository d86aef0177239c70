#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "memory/slot_index.hpp"
#include "memory/stored_rows.hpp"

namespace laredo::memory {

/// The primary-key index: canonical key bytes -> slot, holding only (hash, slot) pairs; the key
/// itself is read from the row when hashes match. Not thread-safe; the owner locks.
class PrimaryIndex {
 public:
  explicit PrimaryIndex(std::vector<std::uint32_t> key_columns)
      : columns_(std::move(key_columns)) {}

  /// The key columns, in key-ordinal order.
  [[nodiscard]] const std::vector<std::uint32_t>& columns() const { return columns_; }
  /// The slot holding `key`, or `SlotIndex::kNone`.
  [[nodiscard]] std::uint32_t Find(std::string_view key, const StoredRows& rows) const {
    return index_.Find(HashKey(key),
                       [&](std::uint32_t slot) { return rows.KeyEquals(slot, columns_, key); });
  }
  void Insert(std::string_view key, std::uint32_t slot) { index_.Insert(HashKey(key), slot); }
  void Erase(std::string_view key, std::uint32_t slot) { index_.Erase(HashKey(key), slot); }
  void Reserve(std::size_t n) { index_.Reserve(n); }
  /// An entry whose hash the caller computed (`HashKey`): a bulk load inserts in hash order.
  void InsertHashed(std::uint32_t hash, std::uint32_t slot) { index_.Insert(hash, slot); }
  [[nodiscard]] std::size_t MemoryBytes() const { return index_.MemoryBytes(); }

 private:
  std::vector<std::uint32_t> columns_;
  SlotIndex index_;
};

}  // namespace laredo::memory
