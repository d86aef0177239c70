#include "engine/dead_letters.hpp"

#include <spdlog/spdlog.h>

#include "engine/upstream.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

DeadLetter DeadLetters::Letter(std::string operation, const std::string& error,
                               int attempts) const {
  DeadLetter letter;
  letter.pipeline_id = pipeline_id_;
  letter.table = table_;
  letter.operation = std::move(operation);
  letter.error = error;
  letter.attempts = attempts;
  letter.time = std::chrono::system_clock::now();
  return letter;
}

void DeadLetters::WriteChange(const ChangeEvent& event, const std::string& error, int attempts,
                              PipelineUpstream& upstream) const {
  DeadLetter letter = Letter(std::string(ToString(event.action)), error, attempts);
  letter.new_values = event.new_values;
  letter.old_values = event.old_values;
  letter.position = upstream.PrintPosition(event.position);
  Deliver(letter);
}

void DeadLetters::WriteBaselineRow(const Row& row, const std::string& error, int attempts) const {
  DeadLetter letter = Letter("baseline_row", error, attempts);
  letter.new_values = row;
  Deliver(letter);
}

void DeadLetters::Deliver(const DeadLetter& letter) const {
  observer_->OnDeadLetter(letter);
  if (!sink_) {
    Logger()->error("pipeline {}: dead letter (no sink configured): {} {}{} {}", pipeline_id_,
                    letter.operation, letter.new_values.ToString(), letter.payload, letter.error);
    return;
  }
  try {
    sink_->Write(letter);
  } catch (const std::exception& e) {
    Logger()->error("pipeline {}: dead-letter sink failed, letter lost: {}", pipeline_id_,
                    e.what());
    observer_->OnError(pipeline_id_, std::string("dead-letter sink failed: ") + e.what(), false);
  }
}

}  // namespace laredo::engine
