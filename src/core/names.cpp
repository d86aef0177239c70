// Printable names of the public enums, and the small out-of-line pieces of the error types.
#include <fmt/format.h>

#include <new>
#include <stdexcept>

#include "laredo/change_event.hpp"
#include "laredo/engine_observer.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/source_status.hpp"

namespace laredo {

ConfigError::ConfigError(std::vector<std::string> problems)
    : Error(codes::kConfig, problems.size() == 1
                                ? "configuration error: " + problems.front()
                                : fmt::format("{} configuration errors: {}", problems.size(),
                                              fmt::join(problems, "; "))),
      problems_(std::move(problems)) {}

bool IsRetryable(const std::exception& error) noexcept {
  if (dynamic_cast<const RetryableError*>(&error) != nullptr) return true;
  if (dynamic_cast<const Error*>(&error) != nullptr) return false;
  // Programming errors and exhausted memory do not heal by waiting.
  if (dynamic_cast<const std::logic_error*>(&error) != nullptr) return false;
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr) return false;
  return true;
}

std::string_view ToString(ChangeAction action) noexcept {
  switch (action) {
    case ChangeAction::Insert:
      return "insert";
    case ChangeAction::Update:
      return "update";
    case ChangeAction::Delete:
      return "delete";
    case ChangeAction::Truncate:
      return "truncate";
  }
  return "?";
}

std::string_view ToString(OrderingGuarantee guarantee) noexcept {
  switch (guarantee) {
    case OrderingGuarantee::TotalOrder:
      return "TotalOrder";
    case OrderingGuarantee::PerTableOrder:
      return "PerTableOrder";
    case OrderingGuarantee::PerPartitionOrder:
      return "PerPartitionOrder";
    case OrderingGuarantee::BestEffort:
      return "BestEffort";
  }
  return "?";
}

std::string_view ToString(SourceState state) noexcept {
  switch (state) {
    case SourceState::Connecting:
      return "Connecting";
    case SourceState::Connected:
      return "Connected";
    case SourceState::Streaming:
      return "Streaming";
    case SourceState::Reconnecting:
      return "Reconnecting";
    case SourceState::Paused:
      return "Paused";
    case SourceState::Error:
      return "Error";
    case SourceState::Closed:
      return "Closed";
  }
  return "?";
}

std::string_view ToString(PipelineState state) noexcept {
  switch (state) {
    case PipelineState::Pending:
      return "Pending";
    case PipelineState::Baseline:
      return "Baseline";
    case PipelineState::Streaming:
      return "Streaming";
    case PipelineState::Paused:
      return "Paused";
    case PipelineState::Error:
      return "Error";
    case PipelineState::Stopped:
      return "Stopped";
  }
  return "?";
}

}  // namespace laredo
