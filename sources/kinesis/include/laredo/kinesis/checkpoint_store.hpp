#pragma once

#include <filesystem>
#include <mutex>
#include <optional>

#include "laredo/kinesis/position.hpp"

namespace laredo::kinesis {

/// Durable home of the source's acknowledged position, read once at start to resume after it.
///
/// Threading contract: implementations must allow `Load` and `Save` from any thread (the engine's
/// acks arrive on their own thread); calls are serialized by the implementation.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;

  /// The saved position, or nullopt when nothing was saved yet.
  virtual std::optional<StreamPosition> Load() = 0;

  /// Durably replaces the checkpoint with `position`. A checkpoint never moves backwards: within
  /// one snapshot, a position behind the saved one on any shard (or lacking a saved shard) is
  /// rejected with `laredo::FatalError` (code "checkpoint_backwards"); saving the same position
  /// again does nothing. A position of another snapshot replaces the checkpoint (a re-baseline
  /// starts a new chain).
  virtual void Save(const StreamPosition& position) = 0;

  /// Durably replaces the checkpoint with `position` whatever was saved, behind it or not: the
  /// first position of a new lineage. A fresh baseline from a snapshot starts one even within the
  /// same snapshot (a restart whose target kept nothing loads the snapshot again and re-reads the
  /// stream from its start), and `Save` advances it from there. The source calls it for its first
  /// acknowledgement after each baseline, never otherwise.
  virtual void StartLineage(const StreamPosition& position) = 0;
};

/// Keeps the checkpoint in one small text file. `Save` writes a temporary file beside it, fsyncs
/// it, renames it over the checkpoint and fsyncs the directory, so a crash leaves either the old
/// or the new checkpoint, never a torn one.
///
/// A file that is not a checkpoint (edited, damaged) makes `Load` and `Save` throw
/// `laredo::DataError` (code "bad_checkpoint") naming the file; it is never silently replaced.
/// I/O failures throw `laredo::RetryableError` (code "checkpoint_io"). One store (one process)
/// owns a file: the temporary file beside it is not shared safely between writers.
/// Thread-safety: every member may be called from any thread.
class FileCheckpointStore final : public CheckpointStore {
 public:
  explicit FileCheckpointStore(std::filesystem::path path);

  std::optional<StreamPosition> Load() override;
  void Save(const StreamPosition& position) override;
  void StartLineage(const StreamPosition& position) override;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::optional<StreamPosition> ReadFile() const;
  // Reads the file into `saved_` unless it was read or written already; the caller holds `mutex_`.
  void LoadOnce();
  // Write-fsync-rename-fsync of `position`; the caller holds `mutex_`.
  void WriteFile(const StreamPosition& position);

  const std::filesystem::path path_;
  std::mutex mutex_;
  bool loaded_ = false;  // saved_ mirrors the file once it has been read or written
  std::optional<StreamPosition> saved_;
};

}  // namespace laredo::kinesis
