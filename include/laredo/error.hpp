#pragma once

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "laredo/error_codes.hpp"

namespace laredo {

/// Root of every exception the library throws. `code()` is a stable, machine-readable string
/// that callers may switch on; every code the library uses is a constant of `laredo::codes`
/// (`laredo/error_codes.hpp`, which lists them with their meaning). The message is for humans and
/// may change between releases.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}

  [[nodiscard]] const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

/// The configuration is wrong; retrying without changing it cannot help. Carries every problem
/// found, not only the first.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<std::string> problems);

  [[nodiscard]] const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  std::vector<std::string> problems_;
};

/// A transient failure (network, server restart, throttling): the same call may succeed later.
class RetryableError : public Error {
 public:
  using Error::Error;
};

/// An unrecoverable failure: the component that threw cannot continue.
class FatalError : public Error {
 public:
  using Error::Error;
};

/// Input that does not follow its format: a malformed position string, a corrupt record, bytes
/// that do not decode. Nothing was applied from it.
class DataError : public Error {
 public:
  using Error::Error;
};

/// Thrown by `SyncSource::Stream` when the stream cannot continue from where it was (a lost
/// replication slot, a re-created temporary slot, a stream that ended). The engine answers by
/// taking a fresh baseline that replaces the targets' contents, then streams from its position.
class RebaselineRequired : public Error {
 public:
  explicit RebaselineRequired(const std::string& reason)
      : Error(codes::kRebaselineRequired, reason) {}
};

/// Thrown by a target's `SyncTarget::OnChanges` when the first `applied()` changes of the batch
/// took effect and the next one failed with `cause()`. The engine classifies and reports the
/// cause, and goes on after the applied changes.
class PartialBatchError : public Error {
 public:
  PartialBatchError(std::size_t applied, std::exception_ptr cause, const std::string& message)
      : Error(codes::kPartialBatch, message), applied_(applied), cause_(std::move(cause)) {}

  [[nodiscard]] std::size_t applied() const noexcept { return applied_; }
  [[nodiscard]] const std::exception_ptr& cause() const noexcept { return cause_; }

 private:
  std::size_t applied_;
  std::exception_ptr cause_;
};

/// The one classification of failures that the engine retries (target calls, source start-up and
/// stream failures): `RetryableError` and exceptions that are not `laredo::Error` (a user's
/// `std::runtime_error`, `std::system_error`: unknown, so assumed transient) are retryable; every
/// other `laredo::Error` (configuration, data, fatal, plain) and `std::bad_alloc`,
/// `std::logic_error` are not: the same call would fail the same way.
[[nodiscard]] bool IsRetryable(const std::exception& error) noexcept;

}  // namespace laredo
