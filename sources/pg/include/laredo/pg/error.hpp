#pragma once

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "laredo/error.hpp"

namespace laredo::pg {

/// Carried by every exception the PostgreSQL source throws for an error the server reported:
/// `sqlstate()` is the server's five-character SQLSTATE ("28P01", "42501", "57P01"), which, unlike
/// the message, does not depend on the server's `lc_messages`. Read it with `SqlState(e)` from any
/// caught exception, or from `Engine::SourceException(id)`.
class ServerError {
 public:
  explicit ServerError(std::string sqlstate) : sqlstate_(std::move(sqlstate)) {}
  virtual ~ServerError() = default;
  ServerError(const ServerError&) = default;
  ServerError& operator=(const ServerError&) = default;
  [[nodiscard]] const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// A statement the server rejected for a reason retrying will not fix (syntax, a missing object,
/// a constraint). Code `codes::kPgSql`.
class SqlError : public Error, public ServerError {
 public:
  SqlError(std::string sqlstate, const std::string& message)
      : Error(codes::kPgSql, message), ServerError(std::move(sqlstate)) {}
};

/// A transient server error (the connection was terminated, the server is starting or shutting
/// down, too many connections, a serialization conflict): retried. Code `codes::kPgConnection`.
class TransientServerError : public RetryableError, public ServerError {
 public:
  TransientServerError(std::string sqlstate, const std::string& message)
      : RetryableError(codes::kPgConnection, message), ServerError(std::move(sqlstate)) {}
};

/// The server refused the connection for its configuration (wrong password, no `pg_hba.conf`
/// entry, unknown database, missing privilege): not retried.
class RefusedConnection : public ConfigError, public ServerError {
 public:
  RefusedConnection(std::string sqlstate, const std::string& message)
      : ConfigError({message}), ServerError(std::move(sqlstate)) {}
};

/// The SQLSTATE of a PostgreSQL server error, whatever its exception class; nullopt for other
/// exceptions (a lost connection reports none) and for a null pointer.
[[nodiscard]] inline std::optional<std::string> SqlState(const std::exception& e) noexcept {
  if (const auto* server = dynamic_cast<const ServerError*>(&e)) return server->sqlstate();
  return std::nullopt;
}
[[nodiscard]] inline std::optional<std::string> SqlState(const std::exception_ptr& e) noexcept {
  if (!e) return std::nullopt;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& caught) {
    return SqlState(caught);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace laredo::pg
