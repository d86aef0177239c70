#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "laredo/memory/key.hpp"
#include "laredo/value.hpp"

namespace laredo::memory::detail {

/// One table's values for `TypedTarget<T>`: canonical primary-key bytes -> the value, plus the
/// secondary indexes, kept consistent through every write. Values are immutable once stored and
/// shared (`std::shared_ptr<const T>`), so a reader can hold one while the writer replaces it.
/// Unique indexes never forget a live holder of a key: the newest answers, the others wait behind
/// it (as in `IndexedTarget`). Not thread-safe: the owner locks.
template <typename T>
class TypedStore {
 public:
  using Ptr = std::shared_ptr<const T>;
  using KeyFn = std::function<std::vector<Value>(const T&)>;
  struct IndexSpec {
    KeyFn key;
    bool unique = false;
  };
  /// What a write did: the value before (null for an insert) and after (null for a delete).
  struct Applied {
    Ptr before;
    Ptr after;
  };

  explicit TypedStore(std::vector<IndexSpec> indexes) {
    for (auto& spec : indexes) indexes_.push_back(Index{std::move(spec), {}, {}});
  }

  /// The index keys of `value`, one per index (user code: call it outside the owner's lock).
  [[nodiscard]] std::vector<std::string> IndexKeys(const T& value) const {
    std::vector<std::string> keys;
    keys.reserve(indexes_.size());
    for (const auto& index : indexes_) keys.push_back(EncodeKey(index.spec.key(value)));
    return keys;
  }
  /// Insert-or-replace under `key`; `index_keys` from `IndexKeys(*value)`.
  Applied Put(const std::string& key, Ptr value, std::vector<std::string>&& index_keys) {
    auto [it, added] = rows_.try_emplace(key);
    Applied applied;
    if (!added) {
      applied.before = it->second.value;
      RemoveFromIndexes(*it);
    }
    it->second.value = std::move(value);
    it->second.index_keys = std::move(index_keys);
    AddToIndexes(*it);
    applied.after = it->second.value;
    return applied;
  }
  /// Removes `key`; an empty result when it was not there.
  Applied Erase(const std::string& key) {
    auto it = rows_.find(key);
    if (it == rows_.end()) return {};
    Applied applied{.before = it->second.value, .after = nullptr};
    RemoveFromIndexes(*it);
    rows_.erase(it);
    return applied;
  }

  [[nodiscard]] Ptr Get(const std::string& key) const {
    auto it = rows_.find(key);
    return it == rows_.end() ? nullptr : it->second.value;
  }
  /// Calls `fn(value)` for every value holding `key` in index `i` (a unique index's newest first)
  /// until it returns false.
  template <typename Fn>
  void ForEachMatch(std::size_t i, const std::string& key, Fn&& fn) const {
    const auto& index = indexes_[i];
    if (index.spec.unique) {
      auto it = index.holders.find(key);
      if (it == index.holders.end()) return;
      for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
        if (!fn((*r)->second.value)) return;
      }
    } else if (auto it = index.members.find(key); it != index.members.end()) {
      for (const auto* entry : it->second) {
        if (!fn(entry->second.value)) return;
      }
    }
  }
  /// Calls `fn(key, value)` for every value.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [key, node] : rows_) fn(key, node.value);
  }
  [[nodiscard]] std::size_t count() const { return rows_.size(); }

 private:
  struct Node {
    Ptr value;
    std::vector<std::string> index_keys;  // per index, to unindex without calling the user again
  };
  using Entry = std::pair<const std::string, Node>;  // nodes of an unordered_map never move
  struct Index {
    IndexSpec spec;
    std::unordered_map<std::string, std::vector<const Entry*>> holders;  // unique: oldest first
    std::unordered_map<std::string, std::unordered_set<const Entry*>> members;  // non-unique
  };

  void AddToIndexes(const Entry& entry) {
    for (std::size_t i = 0; i < indexes_.size(); ++i) {
      auto& index = indexes_[i];
      const auto& key = entry.second.index_keys[i];
      if (index.spec.unique) {
        index.holders[key].push_back(&entry);
      } else {
        index.members[key].insert(&entry);
      }
    }
  }
  void RemoveFromIndexes(const Entry& entry) {
    for (std::size_t i = 0; i < indexes_.size(); ++i) {
      auto& index = indexes_[i];
      const auto& key = entry.second.index_keys[i];
      if (index.spec.unique) {
        auto it = index.holders.find(key);
        if (it == index.holders.end()) continue;
        std::erase(it->second, &entry);
        if (it->second.empty()) index.holders.erase(it);
      } else if (auto it = index.members.find(key); it != index.members.end()) {
        it->second.erase(&entry);
        if (it->second.empty()) index.members.erase(it);
      }
    }
  }

  std::unordered_map<std::string, Node> rows_;
  std::vector<Index> indexes_;
};

}  // namespace laredo::memory::detail
