#pragma once

#include <memory>
#include <string>

#include "laredo/dead_letter.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/table_identifier.hpp"

namespace laredo::engine {

class PipelineUpstream;

/// Builds and delivers one pipeline's dead letters: to the observer, then to the pipeline's sink,
/// or to the log when it has none. Any thread.
class DeadLetters {
 public:
  DeadLetters(std::string pipeline_id, TableIdentifier table, std::shared_ptr<DeadLetterSink> sink,
              std::shared_ptr<EngineObserver> observer)
      : pipeline_id_(std::move(pipeline_id)),
        table_(std::move(table)),
        sink_(std::move(sink)),
        observer_(std::move(observer)) {}

  /// A change that failed (or was rejected by a full buffer) after `attempts` attempts.
  void WriteChange(const ChangeEvent& event, const std::string& error, int attempts,
                   PipelineUpstream& upstream) const;
  void WriteBaselineRow(const Row& row, const std::string& error, int attempts) const;
  /// A failing sink is logged and reported; the letter is then lost.
  void Deliver(const DeadLetter& letter) const;

  [[nodiscard]] const DeadLetterSink* sink() const { return sink_.get(); }

 private:
  [[nodiscard]] DeadLetter Letter(std::string operation, const std::string& error,
                                  int attempts) const;

  const std::string pipeline_id_;
  const TableIdentifier table_;
  const std::shared_ptr<DeadLetterSink> sink_;
  const std::shared_ptr<EngineObserver> observer_;
};

}  // namespace laredo::engine
