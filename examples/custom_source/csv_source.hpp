#pragma once

// The CSV source of the custom-source guide, in C++: baseline rows come from
// DIR/schema.table.csv (header line = column names, first column = primary key), and changes
// are lines appended to DIR/changes.log: "insert,schema.table,col=val,..." (also update/delete).
// The CSV files hold the tables as of the end of changes.log when the baseline starts; every line
// appended from then on is a change. A position is the byte offset in changes.log just after the
// last line consumed.

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <laredo/laredo.hpp>
#include <map>
#include <mutex>

namespace csvsource {

/// Threading: the engine's contract for sources; every method below locks `mu_`.
class Source : public laredo::SyncSource {
 public:
  explicit Source(std::filesystem::path dir) : dir_(std::move(dir)) {}

  std::map<laredo::TableIdentifier, std::vector<laredo::ColumnDefinition>> Init(
      const laredo::SourceConfig& config) override;
  std::vector<laredo::ValidationError> ValidateTables(
      const std::vector<laredo::TableIdentifier>& tables) override;
  laredo::Position Baseline(std::stop_token stop,
                            const std::vector<laredo::TableIdentifier>& tables,
                            const laredo::RowCallback& on_row) override;
  void Stream(std::stop_token stop, const laredo::Position& from,
              laredo::ChangeHandler& handler) override;
  void Ack(const laredo::Position& position) override;
  int ComparePositions(const laredo::Position& a, const laredo::Position& b) const override;
  std::string PositionToString(const laredo::Position& position) const override;
  laredo::Position PositionFromString(std::string_view text) const override;
  void Pause() override;
  void Resume() override;
  laredo::SourceState State() const override;
  void Close() override;

 private:
  [[nodiscard]] std::filesystem::path PathOf(const laredo::TableIdentifier& table) const;
  static std::uint64_t Unwrap(const laredo::Position& position);
  // Blocks while paused; false once `stop` is triggered.
  bool AwaitNotPaused(const std::stop_token& stop);
  // One line of changes.log as a change; throws laredo::DataError for a malformed one.
  laredo::ChangeEvent ParseChange(const std::string& line);

  std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::condition_variable_any wake_;  // Resume, or the next look at changes.log
  laredo::SourceState state_ = laredo::SourceState::Closed;
  std::uint64_t last_ack_ = 0;
  bool paused_ = false;
  std::map<laredo::TableIdentifier, std::vector<laredo::ColumnDefinition>> schemas_;
};

}  // namespace csvsource
