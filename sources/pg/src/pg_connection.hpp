#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/pg/error.hpp"

namespace laredo::pg {

struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

enum class ConnectionKind : std::uint8_t {
  Normal,
  /// `replication=database`: replication commands plus simple-protocol SQL.
  Replication,
};

/// The session settings every connection gets, so that the text forms of values are the ones
/// type_mapping expects, for COPY and for pgoutput alike.
inline constexpr std::string_view kSessionOptions =
    "-c DateStyle=ISO -c IntervalStyle=postgres -c bytea_output=hex -c extra_float_digits=3 "
    "-c TimeZone=UTC";

/// Throws the classified error for a failed command: `RetryableError` when the connection is
/// gone or the SQLSTATE is transient (see `ClassifySqlState`), otherwise `SqlError`. `what` says
/// what was being done ("creating slot x").
[[noreturn]] void ThrowCommandError(PGconn* conn, const PGresult* result, std::string_view what);

/// One libpq connection, owned (PQfinish on destruction). Not thread-safe: one thread uses it.
class PgConnection {
 public:
  /// Connects with the session settings above appended to the conninfo's own `options`, a
  /// connect_timeout of 10 s unless the conninfo sets one, and `application_name` unless set.
  /// Throws `ConfigError` for an unparsable conninfo and when the server refuses the connection
  /// for a reason of configuration (wrong password, no pg_hba.conf entry, unknown role or
  /// database, a missing privilege: see `ClassifySqlState`) or wants a password the conninfo
  /// lacks; `RetryableError` when the server cannot be reached or refuses it for a transient
  /// reason. Messages carry the redacted conninfo and the SQLSTATE, never a password.
  static PgConnection Connect(std::string_view conninfo, ConnectionKind kind,
                              std::string_view application_name = "laredo");

  PgConnection() = default;
  [[nodiscard]] PGconn* get() const noexcept { return conn_.get(); }
  [[nodiscard]] bool is_open() const noexcept { return conn_ != nullptr; }
  void Reset() noexcept { conn_.reset(); }

  /// Runs `sql` (simple protocol); expects a command or tuples result, else throws (see
  /// ThrowCommandError).
  ResultPtr Exec(const std::string& sql, std::string_view what);
  /// Runs `sql` with text parameters $1..$n (extended protocol: not on replication connections).
  ResultPtr ExecParams(const std::string& sql, const std::vector<std::string>& params,
                       std::string_view what);

  /// "\"my table\"" for SQL text.
  [[nodiscard]] std::string QuoteIdent(std::string_view name) const;
  /// "'it''s'" for SQL text.
  [[nodiscard]] std::string QuoteLiteral(std::string_view text) const;
  /// "\"schema\".\"table\"".
  [[nodiscard]] std::string QuoteTable(std::string_view schema, std::string_view table) const;

 private:
  struct Deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  ResultPtr Check(PGresult* result, std::string_view what);

  std::unique_ptr<PGconn, Deleter> conn_;
};

/// While it lives, a stop of `stop` cancels the statement `conn` runs (PQcancel, which libpq
/// allows from another thread), so a statement waiting on a lock or a slow scan does not hold up
/// a stop for its whole statement_timeout. The statement then fails with SQLSTATE 57014.
class CancelOnStop {
 public:
  CancelOnStop(const PgConnection& conn, const std::stop_token& stop);
  ~CancelOnStop();
  CancelOnStop(const CancelOnStop&) = delete;
  CancelOnStop& operator=(const CancelOnStop&) = delete;

 private:
  struct Cancel {
    PGcancel* cancel;
    void operator()() const noexcept;
  };
  PGcancel* cancel_ = nullptr;
  std::optional<std::stop_callback<Cancel>> on_stop_;
};

/// The value of column `col` in row `row`, or nullopt for NULL.
std::optional<std::string> GetValue(const PGresult* result, int row, int col);

}  // namespace laredo::pg
