#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "laredo/memory/indexed_target.hpp"
#include "memory/slot_index.hpp"
#include "memory/stored_rows.hpp"

namespace laredo::memory {

/// One secondary index over stored rows.
///
/// Non-unique: key -> the set of slots holding it. Unique: key -> the slot written last, in a
/// `SlotIndex`. The replica never rejects a row for sharing a unique key (the source decides what
/// is valid), so the other live holders of a key wait in `shadowed_`: deleting or moving the
/// newest one hands the key to one of them instead of forgetting a live row, and a shadowed
/// holder that goes is simply dropped. Not thread-safe; the owner locks.
class SecondaryIndex {
 public:
  SecondaryIndex(IndexDefinition definition, std::vector<std::uint32_t> columns);

  [[nodiscard]] const IndexDefinition& definition() const { return definition_; }
  [[nodiscard]] const std::vector<std::uint32_t>& columns() const { return columns_; }
  /// Re-reads column positions after the table grew (positions of existing columns stay).
  void SetColumns(std::vector<std::uint32_t> columns) { columns_ = std::move(columns); }

  /// Indexes the row now in `slot`.
  void Add(std::uint32_t slot, const StoredRows& rows);
  /// Unindexes the row in `slot` (call before its bytes change or go).
  void Remove(std::uint32_t slot, const StoredRows& rows);
  /// Calls `fn(slot)` for each row holding `key` (a unique index's newest holder first) until it
  /// returns false.
  template <typename Fn>
  void ForEachMatch(const std::string& key, const StoredRows& rows, Fn&& fn) const {
    if (definition_.unique) {
      const auto holder = FindHolder(key, rows);
      if (holder == SlotIndex::kNone || !fn(holder)) return;
      if (auto it = shadowed_.find(key); it != shadowed_.end()) {
        for (auto other : it->second) {
          if (!fn(other)) return;
        }
      }
    } else if (auto it = multi_.find(key); it != multi_.end()) {
      for (auto slot : it->second) {
        if (!fn(slot)) return;
      }
    }
  }
  [[nodiscard]] std::size_t MemoryBytes() const { return unique_.MemoryBytes(); }

 private:
  [[nodiscard]] std::uint32_t FindHolder(const std::string& key, const StoredRows& rows) const;

  IndexDefinition definition_;
  std::vector<std::uint32_t> columns_;
  SlotIndex unique_;
  std::unordered_map<std::string, std::unordered_set<std::uint32_t>> shadowed_;
  std::unordered_map<std::string, std::unordered_set<std::uint32_t>> multi_;
};

}  // namespace laredo::memory
