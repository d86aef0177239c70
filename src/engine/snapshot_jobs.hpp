#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "laredo/snapshot/store.hpp"

namespace laredo::engine {

/// What the pipelines taking part in one snapshot or restore report back, and the wait for it.
/// Each pipeline reports once (`Done` or `Failed`); the waiter gives up on a pipeline that stopped
/// without reporting (`Wait`'s `gone`).
///
/// Threading: `Done`/`Failed` from pipeline workers, `Wait` and the accessors from the thread
/// that runs the job.
class JobReports {
 public:
  explicit JobReports(std::vector<std::string> pipelines) : expected_(std::move(pipelines)) {}

  void Done(const std::string& pipeline, std::uint64_t rows, std::uint64_t bytes);
  void Failed(const std::string& pipeline, std::string reason);

  /// Waits until every pipeline reported; false (with `failures()` saying why) when one failed,
  /// `gone(pipeline)` names a reason it never will, `stop` was triggered or `deadline` passed.
  /// `gone` is asked every 50 ms: a halted pipeline drops what was queued to it without a word.
  bool Wait(std::chrono::steady_clock::time_point deadline, const std::stop_token& stop,
            const std::function<std::optional<std::string>(const std::string&)>& gone);

  /// Every failure, "pipeline: reason", joined.
  [[nodiscard]] std::string failures() const;
  [[nodiscard]] std::uint64_t rows() const;
  [[nodiscard]] std::uint64_t bytes() const;

 private:
  struct Report {
    bool ok = false;
    std::string reason;
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;
  };
  const std::vector<std::string> expected_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, Report> reports_;
  std::vector<std::string> extra_failures_;  // found by Wait: timeout, stop, gone
};

/// One snapshot being exported: owns the writer, so a pipeline still exporting after the caller
/// gave up (timeout) keeps it alive; the writer is abandoned (its files removed) when the last
/// holder lets go without a commit.
class SnapshotJob {
 public:
  SnapshotJob(std::unique_ptr<snapshot::SnapshotWriter> writer, std::vector<std::string> pipelines)
      : writer_(std::move(writer)), reports(std::move(pipelines)) {}

  [[nodiscard]] snapshot::SnapshotWriter& writer() { return *writer_; }
  /// The caller gave up: pipelines that have not exported yet skip the export.
  void Cancel() { cancelled_.store(true); }
  [[nodiscard]] bool Cancelled() const { return cancelled_.load(); }

 private:
  std::unique_ptr<snapshot::SnapshotWriter> writer_;
  std::atomic<bool> cancelled_{false};

 public:
  JobReports reports;
};

/// One restore at start: the snapshot, and the reports of the pipelines restoring from it.
class RestoreJob {
 public:
  RestoreJob(std::shared_ptr<const snapshot::SnapshotReader> reader,
             std::vector<std::string> pipelines)
      : snapshot(std::move(reader)), reports(std::move(pipelines)) {}

  const std::shared_ptr<const snapshot::SnapshotReader> snapshot;
  JobReports reports;
};

}  // namespace laredo::engine
