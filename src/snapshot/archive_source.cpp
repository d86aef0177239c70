#include "laredo/snapshot/archive_source.hpp"

#include <fmt/format.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::snapshot {
namespace {

constexpr std::string_view kPrefix = "archive:";

const std::string& IdOf(const Position& position) {
  const auto* id = std::any_cast<std::string>(&position);
  if (id == nullptr) {
    throw DataError(codes::kBadPosition, "ArchiveSource: not one of its positions");
  }
  return *id;
}

}  // namespace

ArchiveSource::ArchiveSource(ArchiveSourceOptions options) : options_(std::move(options)) {
  if (!options_.store) {
    throw ConfigError({"ArchiveSourceOptions.store is required"});
  }
}

std::map<TableIdentifier, std::vector<ColumnDefinition>> ArchiveSource::Init(
    const SourceConfig& config) {
  std::shared_ptr<SnapshotReader> snapshot;
  if (options_.snapshot_id.empty()) {
    snapshot = options_.store->OpenNewest();
    if (!snapshot) throw Error(codes::kSnapshotNotFound, "ArchiveSource: the store is empty");
  } else {
    snapshot = options_.store->Open(options_.snapshot_id);
  }
  std::map<TableIdentifier, std::vector<ColumnDefinition>> columns;
  for (const auto& table : config.tables) {
    if (const auto* entry = snapshot->metadata().FindTable(table)) columns[table] = entry->columns;
  }
  std::lock_guard lk(mu_);
  snapshot_ = std::move(snapshot);
  state_ = SourceState::Connected;
  return columns;
}

std::vector<ValidationError> ArchiveSource::ValidateTables(
    const std::vector<TableIdentifier>& tables) {
  std::lock_guard lk(mu_);
  std::vector<ValidationError> problems;
  for (const auto& table : tables) {
    if (snapshot_->metadata().FindTable(table) == nullptr) {
      problems.push_back({table, validation_codes::kTableNotFound,
                          "snapshot " + snapshot_->metadata().id + " has no file of it"});
    }
  }
  return problems;
}

Position ArchiveSource::Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                                 const RowCallback& on_row) {
  return BaselineWithColumns(std::move(stop), tables, nullptr, on_row);
}

Position ArchiveSource::BaselineWithColumns(std::stop_token stop,
                                            const std::vector<TableIdentifier>& tables,
                                            const ColumnsCallback& on_columns,
                                            const RowCallback& on_row) {
  std::shared_ptr<SnapshotReader> snapshot;
  {
    std::lock_guard lk(mu_);
    snapshot = snapshot_;
  }
  for (const auto& table : tables) {
    const TableEntry* entry = snapshot->metadata().FindTable(table);
    if (entry == nullptr) continue;  // reported by ValidateTables
    auto rows = snapshot->OpenEntry(*entry);
    if (on_columns) on_columns(table, rows->columns());
    Row row;
    while (!stop.stop_requested() && rows->Next(row)) on_row(table, std::move(row));
    if (stop.stop_requested()) break;
  }
  return snapshot->metadata().id;
}

void ArchiveSource::Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) {
  (void)from, (void)handler;
  std::unique_lock lk(mu_);
  state_ = SourceState::Streaming;
  cv_.wait(lk, stop, [] { return false; });  // nothing ever arrives
}

int ArchiveSource::ComparePositions(const Position& a, const Position& b) const {
  return IdOf(a).compare(IdOf(b));
}

std::string ArchiveSource::PositionToString(const Position& position) const {
  return std::string(kPrefix) + IdOf(position);
}

Position ArchiveSource::PositionFromString(std::string_view text) const {
  if (!text.starts_with(kPrefix) || !IsSnapshotId(text.substr(kPrefix.size()))) {
    throw DataError(codes::kBadPosition,
                    fmt::format("ArchiveSource: \"{}\" is not an archive position", text));
  }
  return std::string(text.substr(kPrefix.size()));
}

SourceState ArchiveSource::State() const {
  std::lock_guard lk(mu_);
  return state_;
}

void ArchiveSource::Close() {
  std::lock_guard lk(mu_);
  state_ = SourceState::Closed;
}

std::string ArchiveSource::SnapshotId() const {
  std::lock_guard lk(mu_);
  return snapshot_ ? snapshot_->metadata().id : std::string();
}

}  // namespace laredo::snapshot
