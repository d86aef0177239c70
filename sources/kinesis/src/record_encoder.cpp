// Encoder: stream changes -> contract records and their partition keys.
#include "record_encoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "crypto.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::contract {
namespace {

using nlohmann::json;

std::string CommitTime(std::chrono::system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return FormatTimestamp(micros, true);
}

}  // namespace

std::vector<std::string> KeyColumnNames(const std::vector<ColumnDefinition>& columns) {
  std::vector<const ColumnDefinition*> keys;
  for (const auto& column : columns) {
    if (column.primary_key) keys.push_back(&column);
  }
  std::stable_sort(keys.begin(), keys.end(), [](const auto* a, const auto* b) {
    const int x = a->primary_key_ordinal > 0 ? a->primary_key_ordinal : 1 << 30;
    const int y = b->primary_key_ordinal > 0 ? b->primary_key_ordinal : 1 << 30;
    return x < y;
  });
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (const auto* key : keys) names.push_back(key->name);
  return names;
}

RecordEncoder::RecordEncoder(TableIdentifier table, const std::vector<ColumnDefinition>& columns,
                             bool partition_by_table)
    : table_(std::move(table)),
      table_name_(table_.ToString()),
      key_columns_(KeyColumnNames(columns)),
      partition_by_table_(partition_by_table) {
  for (const auto& column : columns) {
    names_.push_back(column.name);
    kinds_.push_back(KindForType(column.type));
  }
}

ColumnKind RecordEncoder::KindOf(std::string_view column) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == column) return kinds_[i];
  }
  return ColumnKind::Unknown;  // a column the source added: read back by its JSON type
}

std::string RecordEncoder::PartitionKeyFor(const Row& row) const {
  if (partition_by_table_ || key_columns_.empty()) return table_name_;
  std::string key = table_name_ + ":";
  for (std::size_t i = 0; i < key_columns_.size(); ++i) {
    if (i > 0) key += ',';
    const Value* value = row.Find(key_columns_[i]);
    key += value == nullptr ? "NULL" : value->ToString();
  }
  if (key.size() <= kMaxPartitionKey) return key;
  return table_name_.substr(0, kMaxPartitionKey - 65) + "#" +
         crypto::HexEncode(crypto::Sha256(key));
}

json RecordEncoder::RowJson(const Row& row, bool allow_unchanged, std::string_view what) const {
  json object = json::object();
  for (std::size_t i = 0; i < row.size(); ++i) {
    const std::string& name = (*row.names())[i];
    const Value& value = row.value(i);
    // The contract's form for "keep the current value" is leaving the column out.
    if (value.IsUnchanged() && allow_unchanged) continue;
    try {
      object[name] = FromValue(value, KindOf(name));
    } catch (const DataError& e) {
      throw DataError(codes::kUnencodableValue,
                      fmt::format("{} {}: column '{}': {}", table_name_, what, name, e.what()));
    }
  }
  return object;
}

std::string RecordEncoder::RowLine(const Row& row) const {
  return RowJson(row, false, "row").dump();
}

bool RecordEncoder::KeyChanged(const Row& row, const Row& identity) const {
  for (const auto& key : key_columns_) {
    const Value* before = identity.Find(key);
    const Value* after = row.Find(key);
    if (before != nullptr && after != nullptr && !(*before == *after)) return true;
  }
  return false;
}

std::string RecordEncoder::Record(const char* action, const TargetChange& change,
                                  const Row* new_row, const Row* old_row, bool new_may_omit) const {
  json record = {{"table", table_name_}, {"action", action}};
  if (new_row != nullptr) record["new"] = RowJson(*new_row, new_may_omit, "new row");
  if (old_row != nullptr) record["old"] = RowJson(*old_row, true, "old row");
  if (change.event != nullptr && change.event->commit_time) {
    record["commit_time"] = CommitTime(*change.event->commit_time);
  }
  if (std::string position = change.PositionString(); !position.empty()) {
    record["source_position"] = std::move(position);
  }
  return record.dump();
}

void RecordEncoder::Encode(const TargetChange& change, std::vector<EncodedRecord>& out) const {
  const auto require = [&](const Row* row, const char* what) -> const Row& {
    if (row == nullptr) {
      throw DataError(codes::kBadEvent, fmt::format("{} {} without its {}", table_name_,
                                                    laredo::ToString(change.action), what));
    }
    return *row;
  };
  switch (change.action) {
    case ChangeAction::Insert: {
      const Row& row = require(change.row, "row");
      out.push_back({PartitionKeyFor(row), Record("insert", change, &row, nullptr, false)});
      return;
    }
    case ChangeAction::Update: {
      const Row& row = require(change.row, "row");
      const Row& identity = require(change.identity, "identity");
      const bool complete = std::none_of(row.values().begin(), row.values().end(),
                                         [](const Value& v) { return v.IsUnchanged(); });
      if (complete && KeyChanged(row, identity)) {
        EncodedRecord removal{PartitionKeyFor(identity),
                              Record("delete", change, nullptr, &identity, false)};
        EncodedRecord addition{PartitionKeyFor(row),
                               Record("insert", change, &row, nullptr, false)};
        out.push_back(std::move(removal));
        out.push_back(std::move(addition));
        return;
      }
      out.push_back({PartitionKeyFor(row), Record("update", change, &row, &identity, true)});
      return;
    }
    case ChangeAction::Delete: {
      const Row& identity = require(change.identity, "identity");
      out.push_back(
          {PartitionKeyFor(identity), Record("delete", change, nullptr, &identity, false)});
      return;
    }
    case ChangeAction::Truncate:
      // One record; see the contract on truncates across shards (`partition_by_table`).
      out.push_back({table_name_, Record("truncate", change, nullptr, nullptr, false), true});
      return;
  }
}

}  // namespace laredo::kinesis::contract
