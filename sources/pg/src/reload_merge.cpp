#include "reload_merge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {

ReloadMerge::ReloadMerge(TableIdentifier table, std::vector<std::string> key_columns)
    : table_(std::move(table)), key_columns_(std::move(key_columns)) {}

std::string ReloadMerge::KeyOf(const Row& row) const {
  std::string key;
  for (const auto& column : key_columns_) {
    const Value* v = row.Find(column);
    if (v == nullptr) {
      throw DataError(codes::kRowShape, fmt::format("{}: a row without key column \"{}\"",
                                                    table_.ToString(), column));
    }
    const auto text = v->ToString();
    key += fmt::format("{}:{}|", text.size(), text);
  }
  return key;
}

Row ReloadMerge::KeyRow(const Row& row) const {
  Row key;
  for (const auto& column : key_columns_) key[column] = row.at(column);
  return key;
}

bool ReloadMerge::OnChange(ChangeEvent& change) {
  if (change.table != table_) return true;
  switch (change.action) {
    case ChangeAction::Truncate:
      held_.clear();
      read_again_.clear();
      resumed_ = false;  // the copy is empty: this merge knows all it holds again
      if (window_) window_->truncated = true;
      return true;
    case ChangeAction::Insert: {
      auto key = KeyOf(change.new_values);
      NoteInWindow(key, change);
      read_again_.erase(key);
      held_.insert(std::move(key));
      return true;
    }
    case ChangeAction::Delete: {
      const auto key = KeyOf(change.old_values);
      NoteInWindow(key, change);
      read_again_.erase(key);
      // A row the copy lacks: nothing to delete (unless it may hold it from before a restart).
      return held_.erase(key) > 0 || resumed_;
    }
    case ChangeAction::Update: {
      auto new_key = KeyOf(change.new_values);
      const auto old_key = change.old_values.empty() ? new_key : KeyOf(change.old_values);
      NoteInWindow(old_key, change);
      NoteInWindow(new_key, change);
      if (held_.erase(old_key) > 0) {  // the copy holds the row: an ordinary update
        held_.insert(std::move(new_key));
        return true;
      }
      const auto& values = change.new_values.values();
      const bool whole = std::none_of(values.begin(), values.end(),
                                      [](const Value& v) { return v.IsUnchanged(); });
      read_again_.erase(old_key);  // moved away: nothing is left to read there
      if (resumed_ && old_key != new_key) {
        // The copy may hold the row at its old key from before the restart: it must go.
        if (!whole) {
          read_again_.insert_or_assign(std::move(new_key), KeyRow(change.new_values));
          change.action = ChangeAction::Delete;
          change.new_values = Row();
          return true;
        }
        read_again_.erase(new_key);
        held_.insert(std::move(new_key));
        return true;
      }
      if (whole) {
        change.action = ChangeAction::Insert;
        change.old_values = Row();
        read_again_.erase(new_key);
        held_.insert(std::move(new_key));
        return true;
      }
      read_again_.insert_or_assign(std::move(new_key), KeyRow(change.new_values));
      return false;
    }
  }
  return true;
}

void ReloadMerge::OpenWindow(std::vector<Row> rows, const std::vector<Row>& requested_again,
                             std::optional<PgSnapshot> read) {
  if (window_) throw std::logic_error("ReloadMerge: a window is open already");
  for (const auto& row : rows) (void)KeyOf(row);  // every row has its key, before anything moves
  // The read saw these rows as they were at its time, after every change before this watermark.
  for (const auto& key : requested_again) read_again_.erase(KeyOf(key));
  window_ = Window{.rows = std::move(rows),
                   .requested_again = requested_again,
                   .changed = {},
                   .truncated = false,
                   .read = std::move(read)};
}

void ReloadMerge::AbandonWindow() {
  if (!window_) return;
  // A key changed meanwhile is asked for again too: harmless, the read returns what is there.
  if (!window_->truncated) {
    for (auto& key : window_->requested_again) {
      auto text = KeyOf(key);
      read_again_.insert_or_assign(std::move(text), std::move(key));
    }
  }
  window_.reset();
}

std::vector<Row> ReloadMerge::CloseWindow() {
  if (!window_) throw std::logic_error("ReloadMerge: no window is open");
  Window window = std::move(*window_);
  window_.reset();
  std::vector<Row> out;
  if (window.truncated) return out;  // what the table holds since came through the stream
  out.reserve(window.rows.size());
  std::set<std::string> out_keys;  // a key the chunk read twice (its scan and a read again) once
  for (auto& row : window.rows) {
    auto key = KeyOf(row);
    if (window.changed.contains(key) || !out_keys.insert(key).second) continue;
    read_again_.erase(key);
    held_.insert(std::move(key));
    out.push_back(std::move(row));
  }
  return out;
}

void ReloadMerge::Resume(std::vector<Row> read_again) {
  resumed_ = true;
  for (auto& key : read_again) {
    auto text = KeyOf(key);
    read_again_.insert_or_assign(std::move(text), std::move(key));
  }
}

std::vector<Row> ReloadMerge::ReadAgain(std::size_t max) const {
  std::vector<Row> keys;
  for (const auto& [key, row] : read_again_) {
    if (keys.size() >= max) break;
    keys.push_back(row);
  }
  return keys;
}

}  // namespace laredo::pg
