#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "laredo/snapshot/store.hpp"
#include "laredo/sync_source.hpp"

namespace laredo::snapshot {

/// Options of `ArchiveSource`.
struct ArchiveSourceOptions {
  /// The store to read. Required.
  std::shared_ptr<SnapshotStore> store{};
  /// The snapshot to serve. Default empty: the newest one at `Init`.
  std::string snapshot_id{};
};

/// A source that serves a committed snapshot as its baseline and has no change stream: for
/// seeding development databases and tests, offline replicas, and reading what another service
/// saved. A table is served from the snapshot's first file of that table (with several targets of
/// one table, the first pipeline's). Positions are the snapshot id ("archive:<id>").
///
/// `Init` opens the snapshot (`Error` "snapshot_not_found" when there is none or the id is
/// unknown); `ValidateTables` reports every requested table the snapshot lacks; `Baseline`
/// reads the files, every row checked as `TableReader` does (a corrupt file throws `DataError`
/// "bad_snapshot" and the engine reports it); `Stream` only waits for its stop.
///
/// Threading contract: as `SyncSource` requires; the stream and the status methods may be called
/// from other threads.
class ArchiveSource final : public SyncSource, public SchemaReportingBaseline {
 public:
  explicit ArchiveSource(ArchiveSourceOptions options);

  std::map<TableIdentifier, std::vector<ColumnDefinition>> Init(
      const SourceConfig& config) override;
  std::vector<ValidationError> ValidateTables(const std::vector<TableIdentifier>& tables) override;
  Position Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                    const RowCallback& on_row) override;
  Position BaselineWithColumns(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                               const ColumnsCallback& on_columns,
                               const RowCallback& on_row) override;
  void Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) override;
  void Ack(const Position& position) override { (void)position; }
  [[nodiscard]] int ComparePositions(const Position& a, const Position& b) const override;
  [[nodiscard]] std::string PositionToString(const Position& position) const override;
  [[nodiscard]] Position PositionFromString(std::string_view text) const override;
  [[nodiscard]] SourceState State() const override;
  void Close() override;

  /// The snapshot being served (empty before `Init`).
  [[nodiscard]] std::string SnapshotId() const;

 private:
  const ArchiveSourceOptions options_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::shared_ptr<SnapshotReader> snapshot_;
  SourceState state_ = SourceState::Connecting;
};

}  // namespace laredo::snapshot
