#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "laredo/snapshot/store.hpp"

namespace laredo::snapshot {

/// Options of `LocalDirectoryStore`.
struct LocalDirectoryStoreOptions {
  /// Where the snapshots go, one directory each; created when missing. Required.
  std::filesystem::path directory{};
  /// How table files are written (block size).
  TableFileOptions table_file{};
};

/// Snapshots in a local directory: `<directory>/<id>/metadata.json` and one file per table.
///
/// A snapshot is written into `<directory>/.tmp-<id>/`; `Commit` fsyncs every file and the
/// metadata, fsyncs that directory, renames it to `<id>` and fsyncs `<directory>`. A crash at any
/// point leaves either no snapshot or the whole one, and the snapshots before it intact. `List`
/// reads only `<id>` directories (newest first); a committed snapshot whose metadata does not
/// parse is skipped with a logged warning. `Prune` first renames a snapshot to `.del-<id>`
/// (unlisted at once), then removes it, and removes what crashed or abandoned writers left
/// (`.tmp-*` of writers not running in this object, `.del-*`).
/// Threading contract: every method may be called from any thread; one process writes to a
/// directory at a time.
class LocalDirectoryStore final : public SnapshotStore {
 public:
  /// Throws `ConfigError` without a directory, `laredo::Error` ("snapshot_io") when it cannot be
  /// created.
  explicit LocalDirectoryStore(LocalDirectoryStoreOptions options);

  std::unique_ptr<SnapshotWriter> Begin() override;
  std::vector<SnapshotMetadata> List() override;
  std::unique_ptr<SnapshotReader> Open(const std::string& id) override;
  std::size_t Prune(std::size_t keep) override;

 private:
  struct Pending;
  struct State;  // shared with the writers, which may outlive this object

  LocalDirectoryStoreOptions options_;
  std::shared_ptr<State> state_;
};

}  // namespace laredo::snapshot
