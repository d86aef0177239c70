#include "csv_source.hpp"

#include <charconv>
#include <chrono>
#include <condition_variable>
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
  std::lock_guard lk(mu_);
  return ++seq_;
}

void Source::Stream(std::stop_token stop, const laredo::Position&, laredo::ChangeHandler& handler) {
  {
    std::lock_guard lk(mu_);
    state_ = laredo::SourceState::Streaming;
  }
  // Tail changes.log from its current end, checking every 100 ms or at once on stop.
  std::ifstream in(dir_ / "changes.log");
  in.seekg(0, std::ios::end);
  std::mutex wait_mu;
  std::condition_variable_any wake;
  std::string partial;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lk(wait_mu);
      wake.wait_for(lk, stop, std::chrono::milliseconds(100), [] { return false; });
    }
    if (!in) {  // the file may appear later
      in.clear();
      in.open(dir_ / "changes.log");
      continue;
    }
    for (std::string line; std::getline(in, line);) {
      if (in.eof()) {  // no newline yet: the writer is mid-line
        partial += line;
        break;
      }
      line = partial + line;
      partial.clear();
      if (line.empty()) continue;
      auto fields = SplitCsv(line);
      if (fields.size() < 2) throw laredo::DataError("bad_csv", "bad change line: " + line);
      laredo::ChangeEvent event;
      event.table = ParseTable(fields[1]);
      event.timestamp = std::chrono::system_clock::now();
      laredo::Row row;
      for (std::size_t i = 2; i < fields.size(); ++i) {
        const auto eq = fields[i].find('=');
        if (eq == std::string::npos)
          throw laredo::DataError("bad_csv", "expected col=val: " + fields[i]);
        row[fields[i].substr(0, eq)] = laredo::Value(fields[i].substr(eq + 1));
      }
      if (fields[0] == "insert") {
        event.action = laredo::ChangeAction::Insert;
        event.new_values = std::move(row);
      } else if (fields[0] == "update") {
        event.action = laredo::ChangeAction::Update;
        event.new_values = std::move(row);
      } else if (fields[0] == "delete") {
        event.action = laredo::ChangeAction::Delete;
        event.old_values = std::move(row);
      } else {
        throw laredo::DataError("bad_csv", "unknown action: " + fields[0]);
      }
      {
        std::lock_guard lk(mu_);
        event.position = ++seq_;
      }
      handler.OnChange(std::move(event));
    }
    in.clear();  // clear EOF so the next read sees appended lines
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

int Source::ComparePositions(const laredo::Position& a, const laredo::Position& b) {
  const auto x = Unwrap(a);
  const auto y = Unwrap(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

std::string Source::PositionToString(const laredo::Position& position) {
  return std::to_string(Unwrap(position));
}

laredo::Position Source::PositionFromString(std::string_view text) {
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
  std::lock_guard lk(mu_);
  paused_ = false;
  state_ = laredo::SourceState::Streaming;
}

laredo::SourceState Source::State() {
  std::lock_guard lk(mu_);
  return state_;
}

void Source::Close() {
  std::lock_guard lk(mu_);
  state_ = laredo::SourceState::Closed;
}

}  // namespace csvsource
