#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "laredo/snapshot/metadata.hpp"
#include "laredo/snapshot/streams.hpp"
#include "laredo/snapshot/table_file.hpp"

namespace laredo::snapshot {

/// What a store implements for a snapshot being written: its files, and the commit that makes
/// them a snapshot. Destroyed without `Commit`, it removes what it wrote where it can; what it
/// cannot remove (a crash) is never listed and is cleaned up by a later `Prune`.
/// Threading contract: `CreateFile` may be called from several threads; `Commit` once, after
/// every sink it returned was closed.
class PendingSnapshot {
 public:
  virtual ~PendingSnapshot() = default;
  virtual std::unique_ptr<ByteSink> CreateFile(const std::string& name) = 0;
  /// Publishes the snapshot atomically: until it returns, `List` does not show it; after, it
  /// shows all of it. The metadata is written last.
  virtual void Commit(const SnapshotMetadata& metadata) = 0;
};

/// What a store implements to read a committed snapshot's files. Thread-safe.
class SnapshotFiles {
 public:
  virtual ~SnapshotFiles() = default;
  virtual std::unique_ptr<ByteSource> OpenFile(const std::string& name) = 0;
};

/// Rows of one table into a snapshot. `Finish` closes the file and records it in the snapshot;
/// destroyed unfinished, the table is not part of it (and `Commit` refuses to commit).
/// Threading contract: one thread at a time; writers of different tables may run in parallel.
class SnapshotWriter;
class TableWriter final : public RowWriter {
 public:
  TableWriter(std::unique_ptr<TableFileWriter> file, TableEntry entry, SnapshotWriter* owner);
  ~TableWriter() override;
  void Write(const Row& row) override { file_->Write(row); }
  void Finish();

 private:
  std::unique_ptr<TableFileWriter> file_;
  TableEntry entry_;
  SnapshotWriter* owner_;
  bool finished_ = false;
};

/// One snapshot being written: source positions, a file per table, then `Commit`.
/// Threading contract: `BeginTable` and `AddSource` may be called from several threads (the
/// engine may export targets in parallel); `Commit` once, after every table writer finished.
/// Destroyed uncommitted, the snapshot is abandoned. Table writers must not outlive it.
class SnapshotWriter {
 public:
  SnapshotWriter(std::string id, std::unique_ptr<PendingSnapshot> pending,
                 TableFileOptions options = {});
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  [[nodiscard]] const std::string& id() const { return metadata_.id; }
  /// Where `source_id` stood; the stream resumes from `position` after a restore.
  void AddSource(std::string source_id, std::string position);
  /// The file of `table` (of engine pipeline `pipeline`, when given). Throws `laredo::Error` for
  /// a (table, pipeline) begun twice.
  std::unique_ptr<TableWriter> BeginTable(const TableIdentifier& table,
                                          const std::vector<ColumnDefinition>& columns,
                                          const std::string& pipeline = {});
  /// Writes the metadata and publishes the snapshot; returns its metadata. Throws
  /// `laredo::Error` when a table writer has not finished.
  SnapshotMetadata Commit();

 private:
  friend class TableWriter;
  void Finished(TableEntry entry);
  void Abandoned();

  std::mutex mu_;
  SnapshotMetadata metadata_;
  std::unique_ptr<PendingSnapshot> pending_;
  TableFileOptions options_;
  std::size_t open_tables_ = 0;
  std::vector<std::pair<TableIdentifier, std::string>> begun_;
  bool committed_ = false;
};

/// Rows of one table of a committed snapshot, checked against its metadata entry (table,
/// columns, row count, size and checksum) before `Next` returns false.
/// Threading contract: one thread at a time.
class TableReader final : public RowReader {
 public:
  TableReader(std::unique_ptr<TableFileReader> file, TableEntry entry, std::string name);
  [[nodiscard]] const TableEntry& entry() const { return entry_; }
  [[nodiscard]] const std::vector<ColumnDefinition>& columns() const { return entry_.columns; }
  bool Next(Row& row) override;
  /// `TableFileReader::NextRaw`, with the checks against the metadata at the end.
  TableFileReader::Raw NextRaw(std::vector<std::string_view>& columns);
  [[nodiscard]] std::optional<std::uint64_t> RowCountHint() const override {
    return entry_.row_count;
  }

 private:
  void CheckEnd() const;

  std::unique_ptr<TableFileReader> file_;
  TableEntry entry_;
  std::string name_;
};

/// A committed snapshot, open for reading. Thread-safe: tables may be read in parallel.
class SnapshotReader {
 public:
  SnapshotReader(SnapshotMetadata metadata, std::unique_ptr<SnapshotFiles> files);
  [[nodiscard]] const SnapshotMetadata& metadata() const { return metadata_; }
  /// Throws `laredo::Error` ("snapshot_not_found") for a table the snapshot does not have,
  /// `laredo::DataError` for a file whose header does not match its entry.
  [[nodiscard]] std::unique_ptr<TableReader> OpenTable(const TableIdentifier& table) const;
  /// The rows of one entry of `metadata()`.
  [[nodiscard]] std::unique_ptr<TableReader> OpenEntry(const TableEntry& entry) const;

 private:
  SnapshotMetadata metadata_;
  std::unique_ptr<SnapshotFiles> files_;
};

/// Where snapshots live. Semantics every implementation keeps:
/// - `Begin` starts a snapshot that nobody sees until its writer's `Commit` returned; a crash or
///   an abandoned writer leaves the snapshots committed before intact;
/// - `List` shows committed snapshots only, newest first;
/// - `Prune(keep)` removes all but the newest `keep` committed snapshots (a snapshot stops being
///   listed before its files go) and what abandoned writers left behind.
/// One process writes to a store at a time; several may read.
/// Threading contract: every method may be called from any thread.
class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  virtual std::unique_ptr<SnapshotWriter> Begin() = 0;
  virtual std::vector<SnapshotMetadata> List() = 0;
  /// Throws `laredo::Error` ("snapshot_not_found") for an id that is not committed here.
  virtual std::unique_ptr<SnapshotReader> Open(const std::string& id) = 0;
  /// Returns how many committed snapshots it removed.
  virtual std::size_t Prune(std::size_t keep) = 0;

  /// The newest committed snapshot, or null when there is none.
  std::unique_ptr<SnapshotReader> OpenNewest();
};

}  // namespace laredo::snapshot
