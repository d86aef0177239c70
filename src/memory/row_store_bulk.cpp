// RowStore's bulk load: a restore stores its rows first and builds the primary index at the end,
// from the (hash, slot) pairs sorted by hash. An entry's home position grows with its hash, so
// the index is then filled front to back instead of with a cache miss per row, which was most of
// the time a restore took.
#include <fmt/format.h>

#include <array>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "memory/row_store.hpp"

namespace laredo::memory {
namespace {

using Pair = std::pair<std::uint32_t, std::uint32_t>;  // (hash, slot)

/// Sorts by hash, stably (equal hashes keep their slots' order): two passes of 16 bits.
void RadixSortByHash(std::vector<Pair>& pairs) {
  std::vector<Pair> scratch(pairs.size());
  for (const int shift : {0, 16}) {
    std::array<std::size_t, 65537> offsets{};
    for (const auto& p : pairs) ++offsets[((p.first >> shift) & 0xFFFF) + 1];
    for (std::size_t i = 1; i < offsets.size(); ++i) offsets[i] += offsets[i - 1];
    for (const auto& p : pairs) scratch[offsets[(p.first >> shift) & 0xFFFF]++] = p;
    pairs.swap(scratch);
  }
}

}  // namespace

void RowStore::BeginBulk(std::size_t expected_rows) {
  bulk_.clear();
  bulk_.reserve(expected_rows);
  primary_.Reserve(expected_rows);
  storage_.Reserve(expected_rows);
}

void RowStore::AddBulkEncoded(std::string_view bytes, const std::string& key) {
  const auto slot = storage_.Add(bytes);
  bulk_.emplace_back(HashKey(key), slot);
  for (auto& s : secondaries_) s.Add(slot, Rows());
}

void RowStore::AddBulk(const Row& row) {
  bulk_key_ = PrimaryKeyOf(row);
  AddBulkEncoded(codec_.Encode(row), bulk_key_);
}

void RowStore::AddBulkKeyed(std::span<const std::string_view> columns) {
  // The canonical key is the key columns' bytes one after the other: the key encoding is what
  // the views hold.
  bulk_key_.clear();
  for (const auto c : primary_.columns()) {
    if (columns[c].empty()) {
      throw DataError(codes::kNoKey, fmt::format("a snapshot row lacks a primary-key column of {}",
                                                 table_.ToString()));
    }
    bulk_key_.append(columns[c]);
  }
  AddBulkEncoded(codec_.EncodeKeyed(columns), bulk_key_);
}

void RowStore::EndBulk() {
  RadixSortByHash(bulk_);
  // Equal keys have equal hashes, so a repeated key sits in a run of equal hashes: its last row
  // (the highest slot: a fresh store numbers rows in order) stays, the earlier ones go.
  const StoredRows rows = Rows();
  for (std::size_t i = 0; i < bulk_.size();) {
    std::size_t end = i + 1;
    while (end < bulk_.size() && bulk_[end].first == bulk_[i].first) ++end;
    for (std::size_t a = i; a + 1 < end; ++a) {
      const std::string key = rows.KeyOf(bulk_[a].second, primary_.columns());
      for (std::size_t b = a + 1; b < end; ++b) {
        if (bulk_[b].second != SlotIndex::kNone &&
            rows.KeyEquals(bulk_[b].second, primary_.columns(), key)) {
          Remove(bulk_[a].second, key);  // not in the primary index yet: only storage, secondaries
          bulk_[a].second = SlotIndex::kNone;
          break;
        }
      }
    }
    i = end;
  }
  for (const auto& [hash, slot] : bulk_) {
    if (slot != SlotIndex::kNone) primary_.InsertHashed(hash, slot);
  }
  bulk_ = {};
}

}  // namespace laredo::memory
