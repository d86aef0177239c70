#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "laredo/change_event.hpp"
#include "laredo/row.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo {

/// A change (or baseline row) a target could not apply within its retries, or a record its source
/// could not decode (`operation` "invalid_record").
struct DeadLetter {
  std::string pipeline_id{};
  TableIdentifier table{};
  /// "baseline_row", "insert", "update", "delete", "truncate", "buffer_overflow" or
  /// "invalid_record".
  std::string operation{};
  Row new_values{};
  Row old_values{};
  /// The change's position as the source prints it; empty for baseline rows.
  std::string position{};
  /// For "invalid_record": the record as the source received it.
  std::string payload{};
  /// The last failure's message.
  std::string error{};
  /// Attempts made, the first one included.
  int attempts = 0;
  std::chrono::system_clock::time_point time{};
};

/// Receives dead letters. Threading contract: `Write` may be called from several pipeline threads
/// at once and must be thread-safe. Throwing from `Write` is logged and reported to the observer;
/// the letter is then lost, so a sink should not throw.
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual void Write(const DeadLetter& letter) = 0;
};

/// Keeps dead letters in memory, for tests and small services. Thread-safe.
class InMemoryDeadLetterSink final : public DeadLetterSink {
 public:
  void Write(const DeadLetter& letter) override;
  [[nodiscard]] std::vector<DeadLetter> Letters() const;
  [[nodiscard]] std::size_t Count() const;

 private:
  mutable std::mutex mu_;
  std::vector<DeadLetter> letters_;
};

/// Appends one JSON object per dead letter to a file and flushes it, so letters survive a crash.
/// Values are written as JSON scalars where they are numbers or booleans and as strings otherwise.
/// Thread-safe. Throws `laredo::Error` from the constructor when the file cannot be opened.
class JsonLinesDeadLetterSink final : public DeadLetterSink {
 public:
  explicit JsonLinesDeadLetterSink(std::filesystem::path path);
  void Write(const DeadLetter& letter) override;

  /// The JSON line for `letter` (no newline).
  [[nodiscard]] static std::string Format(const DeadLetter& letter);

 private:
  std::mutex mu_;
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace laredo
