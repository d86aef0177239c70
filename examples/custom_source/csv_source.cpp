#include "csv_source.hpp"

#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>

namespace csvsource {
namespace {

// Splits one CSV line; double-quoted fields may contain commas and "" for a quote.
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted) throw laredo::DataError("bad_csv", "unterminated quote in: " + line);
  return fields;
}

laredo::TableIdentifier ParseTable(const std::string& text) {
  const auto dot = text.find('.');
  if (dot == std::string::npos)
    throw laredo::DataError("bad_csv", "table must be schema.table: " + text);
  return laredo::Table(text.substr(0, dot), text.substr(dot + 1));
}

}  // namespace

std::filesystem::path Source::PathOf(const laredo::TableIdentifier& table) const {
  return dir_ / (table.schema + "." + table.table + ".csv");
}

std::map<laredo::TableIdentifier, std::vector<laredo::ColumnDefinition>> Source::Init(
    const laredo::SourceConfig& config) {
  std::lock_guard lk(mu_);
  state_ = laredo::SourceState::Connecting;
  std::map<laredo::TableIdentifier, std::vector<laredo::ColumnDefinition>> result;
  for (const auto& table : config.tables) {
    std::ifstream in(PathOf(table));
    std::string header;
    if (!in || !std::getline(in, header)) continue;  // ValidateTables reports it
    std::vector<laredo::ColumnDefinition> columns;
    const auto names = SplitCsv(header);
    for (std::size_t i = 0; i < names.size(); ++i) {
      columns.push_back({.name = names[i],
                         .type = "text",
                         .nullable = i != 0,
                         .ordinal_position = static_cast<int>(i + 1),
                         .primary_key = i == 0,
                         .primary_key_ordinal = i == 0 ? 1 : 0});
    }
    result[table] = columns;
    schemas_[table] = columns;
  }
  state_ = laredo::SourceState::Connected;
  return result;
}

std::vector<laredo::ValidationError> Source::ValidateTables(
    const std::vector<laredo::TableIdentifier>& tables) {
  std::vector<laredo::ValidationError> errors;
  for (const auto& table : tables) {
    if (!std::filesystem::exists(PathOf(table))) {
      errors.push_back({table, "FILE_NOT_FOUND", "CSV file not found: " + PathOf(table).string()});
    }
  }
  return errors;
}

laredo::Position Source::Baseline(std::stop_token stop,
                                  const std::vector<laredo::TableIdentifier>& tables,
                                  const laredo::RowCallback& on_row) {
  // Where the stream starts: the CSV files already hold every change logged before this point.
  std::error_code ec;
  const auto log_size = std::filesystem::file_size(dir_ / "changes.log", ec);
  for (const auto& table : tables) {
    std::ifstream in(PathOf(table));
    std::string line;
    std::getline(in, line);  // header
    const auto header = SplitCsv(line);
    auto names = laredo::ColumnNames::Make(header);  // shared by every row of the table
    while (std::getline(in, line) && !stop.stop_requested()) {
      if (line.empty()) continue;
      auto fields = SplitCsv(line);
      if (fields.size() != header.size()) {
        throw laredo::DataError("bad_csv", "wrong field count in " + PathOf(table).string());
      }
      std::vector<laredo::Value> values(fields.begin(), fields.end());
      on_row(table, laredo::Row(names, std::move(values)));
    }
  }
  return static_cast<std::uint64_t>(ec ? 0 : log_size);
}

laredo::ChangeEvent Source::ParseChange(const std::string& line) {
  const auto fields = SplitCsv(line);
  if (fields.size() < 2) throw laredo::DataError("bad_csv", "bad change line: " + line);
  laredo::ChangeEvent event;
  event.table = ParseTable(fields[1]);
  event.timestamp = std::chrono::system_clock::now();
  std::vector<laredo::ColumnDefinition> columns;
  {
    std::lock_guard lk(mu_);
    const auto it = schemas_.find(event.table);
    if (it == schemas_.end()) throw laredo::DataError("bad_csv", "unknown table: " + fields[1]);
    columns = it->second;
  }
  laredo::Row mentioned;
  for (std::size_t i = 2; i < fields.size(); ++i) {
    const auto eq = fields[i].find('=');
    if (eq == std::string::npos) {
      throw laredo::DataError("bad_csv", "expected col=val: " + fields[i]);
    }
    mentioned[fields[i].substr(0, eq)] = laredo::Value(fields[i].substr(eq + 1));
  }
  if (!mentioned.contains(columns.front().name)) {
    throw laredo::DataError("bad_csv", "no " + columns.front().name + " (the key) in: " + line);
  }
  if (fields[0] == "delete") {
    event.action = laredo::ChangeAction::Delete;
    event.old_values = std::move(mentioned);
    return event;
  }
  if (fields[0] != "insert" && fields[0] != "update") {
    throw laredo::DataError("bad_csv", "unknown action: " + fields[0]);
  }
  // Every column of the table: an insert leaves the others NULL, an update leaves them as they
  // are (Unchanged), so a partial update does not erase what it does not mention.
  event.action =
      fields[0] == "insert" ? laredo::ChangeAction::Insert : laredo::ChangeAction::Update;
  const laredo::Value absent =
      event.action == laredo::ChangeAction::Insert ? laredo::Value() : laredo::Value::Unchanged();
  for (const auto& column : columns) {
    event.new_values[column.name] =
        mentioned.contains(column.name) ? mentioned.at(column.name) : absent;
  }
  return event;
}

bool Source::AwaitNotPaused(const std::stop_token& stop) {
  std::unique_lock lk(mu_);
  return wake_.wait(lk, stop, [this] { return !paused_; });
}

void Source::Stream(std::stop_token stop, const laredo::Position& from,
                    laredo::ChangeHandler& handler) {
  {
    std::lock_guard lk(mu_);
    state_ = paused_ ? laredo::SourceState::Paused : laredo::SourceState::Streaming;
  }
  // Right after `from`: the baseline's end, or the last change the engine dispatched when it
  // calls again after a failure. Nothing appended in between is skipped.
  std::uint64_t offset = from.has_value() ? Unwrap(from) : 0;
  while (!stop.stop_requested()) {
    std::ifstream in(dir_ / "changes.log", std::ios::binary);  // it may appear later
    in.seekg(static_cast<std::streamoff>(offset));
    // A last line without its '\n' is still being written: it is read again next time.
    for (std::string line; std::getline(in, line) && !in.eof();) {
      if (!AwaitNotPaused(stop)) break;  // a pause holds the stream between two lines
      const std::uint64_t next = offset + line.size() + 1;
      offset = next;
      if (line.empty()) continue;
      laredo::ChangeEvent event;
      try {
        event = ParseChange(line);
      } catch (const laredo::DataError& e) {
        // One bad line must not stop the stream: the engine reports it (observer, dead letter)
        // and the stream goes on.
        handler.OnInvalidRecord(
            {.table = std::nullopt, .position = next, .payload = line, .error = e.what()});
        continue;
      }
      event.position = next;
      handler.OnChange(std::move(event));
    }
    std::unique_lock lk(mu_);
    wake_.wait_for(lk, stop, std::chrono::milliseconds(100), [] { return false; });
  }
  std::lock_guard lk(mu_);
  state_ = laredo::SourceState::Connected;
}

void Source::Ack(const laredo::Position& position) {
  const auto value = Unwrap(position);
  std::lock_guard lk(mu_);
  last_ack_ = value;
}

std::uint64_t Source::Unwrap(const laredo::Position& position) {
  if (const auto* v = std::any_cast<std::uint64_t>(&position)) return *v;
  throw laredo::DataError("bad_position", "CSV source positions are uint64_t");
}

int Source::ComparePositions(const laredo::Position& a, const laredo::Position& b) const {
  const auto x = Unwrap(a);
  const auto y = Unwrap(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

std::string Source::PositionToString(const laredo::Position& position) const {
  return std::to_string(Unwrap(position));
}

laredo::Position Source::PositionFromString(std::string_view text) const {
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    throw laredo::DataError("bad_position", "invalid position: " + std::string(text));
  }
  return value;
}

void Source::Pause() {
  std::lock_guard lk(mu_);
  paused_ = true;
  state_ = laredo::SourceState::Paused;
}

void Source::Resume() {
  {
    std::lock_guard lk(mu_);
    paused_ = false;
    state_ = laredo::SourceState::Streaming;
  }
  wake_.notify_all();
}

laredo::SourceState Source::State() const {
  std::lock_guard lk(mu_);
  return state_;
}

void Source::Close() {
  std::lock_guard lk(mu_);
  state_ = laredo::SourceState::Closed;
}

}  // namespace csvsource
