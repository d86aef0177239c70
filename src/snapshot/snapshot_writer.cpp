// SnapshotWriter and SnapshotReader: the store-independent half of a snapshot (file names, the
// metadata, the checks of a table file against its entry); stores supply only files and commit.
#include <fmt/format.h>

#include <algorithm>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/snapshot/store.hpp"

namespace laredo::snapshot {
namespace {

// "003-public.users.lrt": unique by its number, readable by the rest.
std::string FileNameOf(std::size_t index, const TableIdentifier& table) {
  std::string name = table.schema + "." + table.table;
  for (char& c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-' || c == '.';
    if (!plain) c = '_';
  }
  return fmt::format("{:03}-{}.lrt", index, name.substr(0, 100));
}

}  // namespace

TableWriter::TableWriter(std::unique_ptr<TableFileWriter> file, TableEntry entry,
                         SnapshotWriter* owner)
    : file_(std::move(file)), entry_(std::move(entry)), owner_(owner) {}

TableWriter::~TableWriter() {
  if (!finished_) owner_->Abandoned();
}

void TableWriter::Finish() {
  if (finished_) throw Error(codes::kBadSnapshot, "TableWriter: Finish called twice");
  const TableFileSummary summary = file_->Finish();
  entry_.row_count = summary.rows;
  entry_.bytes = summary.bytes;
  entry_.checksum = summary.checksum;
  finished_ = true;
  owner_->Finished(std::move(entry_));
}

SnapshotWriter::SnapshotWriter(std::string id, std::unique_ptr<PendingSnapshot> pending,
                               TableFileOptions options)
    : pending_(std::move(pending)), options_(options) {
  metadata_.id = std::move(id);
  metadata_.created_at = CreatedAtOf(metadata_.id);
}

SnapshotWriter::~SnapshotWriter() = default;

void SnapshotWriter::AddSource(std::string source_id, std::string position) {
  std::lock_guard lk(mu_);
  for (auto& s : metadata_.sources) {
    if (s.id == source_id) {
      s.position = std::move(position);
      return;
    }
  }
  metadata_.sources.push_back({std::move(source_id), std::move(position)});
}

std::unique_ptr<TableWriter> SnapshotWriter::BeginTable(
    const TableIdentifier& table, const std::vector<ColumnDefinition>& columns,
    const std::string& pipeline) {
  std::string name;
  {
    std::lock_guard lk(mu_);
    if (committed_) throw Error(codes::kBadSnapshot, "SnapshotWriter: BeginTable after Commit");
    if (std::find(begun_.begin(), begun_.end(), std::pair(table, pipeline)) != begun_.end()) {
      throw Error(codes::kBadSnapshot,
                  "snapshot " + metadata_.id + ": table " + table.ToString() + " begun twice");
    }
    name = FileNameOf(begun_.size(), table);
    begun_.emplace_back(table, pipeline);
    ++open_tables_;
  }
  try {
    auto file =
        std::make_unique<TableFileWriter>(pending_->CreateFile(name), table, columns, options_);
    return std::make_unique<TableWriter>(
        std::move(file),
        TableEntry{.table = table, .pipeline = pipeline, .columns = columns, .file = name}, this);
  } catch (...) {
    Abandoned();
    throw;
  }
}

void SnapshotWriter::Finished(TableEntry entry) {
  std::lock_guard lk(mu_);
  --open_tables_;
  metadata_.tables.push_back(std::move(entry));
}

void SnapshotWriter::Abandoned() {
  std::lock_guard lk(mu_);
  --open_tables_;
}

SnapshotMetadata SnapshotWriter::Commit() {
  std::lock_guard lk(mu_);
  if (committed_) throw Error(codes::kBadSnapshot, "SnapshotWriter: Commit called twice");
  if (open_tables_ != 0 || metadata_.tables.size() != begun_.size()) {
    throw Error(codes::kBadSnapshot,
                fmt::format("snapshot {}: {} of {} tables were not finished", metadata_.id,
                            begun_.size() - metadata_.tables.size(), begun_.size()));
  }
  pending_->Commit(metadata_);
  committed_ = true;
  return metadata_;
}

TableReader::TableReader(std::unique_ptr<TableFileReader> file, TableEntry entry, std::string name)
    : file_(std::move(file)), entry_(std::move(entry)), name_(std::move(name)) {
  if (file_->table() != entry_.table || file_->columns() != entry_.columns) {
    throw DataError(codes::kBadSnapshot,
                    fmt::format("snapshot file {} holds {} with other columns than its metadata "
                                "entry for {}",
                                name_, file_->table().ToString(), entry_.table.ToString()));
  }
}

bool TableReader::Next(Row& row) {
  if (file_->Next(row)) return true;
  CheckEnd();
  return false;
}

TableFileReader::Raw TableReader::NextRaw(std::vector<std::string_view>& columns) {
  const auto raw = file_->NextRaw(columns);
  if (raw == TableFileReader::Raw::End) CheckEnd();
  return raw;
}

void TableReader::CheckEnd() const {
  const TableFileSummary s = file_->summary();
  if (s.rows != entry_.row_count || s.bytes != entry_.bytes || s.checksum != entry_.checksum) {
    throw DataError(codes::kBadSnapshot,
                    fmt::format("snapshot file {} is not the file its metadata describes: {} rows, "
                                "{} bytes, checksum {:08x}; the metadata says {}, {}, {:08x}",
                                name_, s.rows, s.bytes, s.checksum, entry_.row_count, entry_.bytes,
                                entry_.checksum));
  }
}

SnapshotReader::SnapshotReader(SnapshotMetadata metadata, std::unique_ptr<SnapshotFiles> files)
    : metadata_(std::move(metadata)), files_(std::move(files)) {}

std::unique_ptr<TableReader> SnapshotReader::OpenTable(const TableIdentifier& table) const {
  const TableEntry* entry = metadata_.FindTable(table);
  if (entry == nullptr) {
    throw Error(codes::kSnapshotNotFound,
                "snapshot " + metadata_.id + " has no table " + table.ToString());
  }
  return OpenEntry(*entry);
}

std::unique_ptr<TableReader> SnapshotReader::OpenEntry(const TableEntry& entry) const {
  std::string name = metadata_.id + "/" + entry.file;
  auto file = std::make_unique<TableFileReader>(files_->OpenFile(entry.file), name);
  return std::make_unique<TableReader>(std::move(file), entry, std::move(name));
}

std::unique_ptr<SnapshotReader> SnapshotStore::OpenNewest() {
  auto listed = List();
  if (listed.empty()) return nullptr;
  return Open(listed.front().id);
}

}  // namespace laredo::snapshot
