#pragma once

// An example target that forwards every change to another system (here: an append-only file of
// JSON lines, standing in for a message broker or a database), one write per source transaction,
// flushed in the background, with at-least-once redeliveries removed by position.

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "laredo/sync_target.hpp"

namespace example {

/// Appends one JSON line per change to `path`: {"pos":..., "op":..., "table":..., "row":...}.
///
/// - Deduplication: the file's last line tells the newest position written; after a restart the
///   source may deliver changes again from its last ACK, and those at or before that position are
///   skipped (compared with the source's own `ComparePositions`).
/// - Durability: lines are written as changes arrive and flushed by a background thread every
///   `flush_interval`; after each flush it reports the newest ticket flushed through
///   `DurabilityReporter`, so the ACK follows the flushes without the engine polling.
/// - Transactions: a source transaction's changes are written together, and flushed at its end.
///
/// Threading: the engine calls it from one pipeline thread; the flusher runs on its own thread.
class ForwardingTarget final : public laredo::SyncTarget {
 public:
  ForwardingTarget(std::filesystem::path path, std::chrono::milliseconds flush_interval);
  ~ForwardingTarget() override;

  void OnInit(const laredo::TableIdentifier& table,
              const std::vector<laredo::ColumnDefinition>& columns) override;
  void OnBaselineBegin(const laredo::TableIdentifier& table,
                       const std::vector<laredo::ColumnDefinition>& columns) override;
  void OnBaselineRow(const laredo::TableIdentifier& table, const laredo::Row& row) override;
  void OnBaselineComplete(const laredo::TableIdentifier& table) override;
  void OnChanges(const laredo::TableIdentifier& table,
                 std::span<const laredo::TargetChange> changes) override;
  // Every change arrives through OnChanges; these are never called.
  void OnInsert(const laredo::TableIdentifier&, const laredo::Row&) override {}
  void OnUpdate(const laredo::TableIdentifier&, const laredo::Row&, const laredo::Row&) override {}
  void OnDelete(const laredo::TableIdentifier&, const laredo::Row&) override {}
  void OnTruncate(const laredo::TableIdentifier&) override {}
  void SetDurabilityReporter(laredo::DurabilityReporter* reporter) override;
  /// Baseline rows carry no position: they count as durable once flushed by OnBaselineComplete.
  bool IsDurable() override;
  /// The file survives restarts, so the source may resume from its last ACK, unless the file
  /// ends in an unfinished baseline.
  bool KeepsStateAcrossRestarts() override { return baseline_done_; }
  laredo::SchemaChangeResponse OnSchemaChange(
      const laredo::TableIdentifier&, const std::vector<laredo::ColumnDefinition>&,
      const std::vector<laredo::ColumnDefinition>&) override {
    return {};  // each line carries its own column names
  }
  void OnClose(const laredo::TableIdentifier& table) override;

  /// Lines written so far (for the example's test).
  [[nodiscard]] std::uint64_t lines_written() const;

 private:
  void Write(const std::string& line);
  void FlushLoop(const std::stop_token& stop);
  void FlushNow();

  const std::filesystem::path path_;
  const std::chrono::milliseconds flush_interval_;
  std::ofstream out_;
  std::string last_position_;  // the newest position in the file, as the source prints it
  laredo::Position written_;   // the same, parsed by the source (once)
  bool baseline_done_ = false;

  std::mutex flush_mu_;  // serialises writes to out_

  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  std::string buffered_;               // lines not yet flushed
  bool flush_requested_ = false;       // a transaction ended: flush now
  std::uint64_t buffered_ticket_ = 0;  // the newest ticket among them
  std::uint64_t flushed_ticket_ = 0;
  std::uint64_t lines_ = 0;
  laredo::DurabilityReporter* reporter_ = nullptr;
  std::jthread flusher_;
};

}  // namespace example
