#include "pg_connection.hpp"

#include <fmt/format.h>
#include <poll.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>

#include "conninfo.hpp"
#include "laredo/error_codes.hpp"
#include "sqlstate.hpp"

namespace laredo::pg {
namespace {

struct ConninfoOptionsDeleter {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};

std::string TrimMessage(const char* message) {
  std::string text = message == nullptr ? std::string() : std::string(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? std::string("unknown error") : text;
}

// connect_timeout as libpq reads it (whole seconds; 0 or less means none, 1 is raised to 2).
// PQconnectPoll leaves the timeout to the caller.
std::optional<std::chrono::seconds> ConnectTimeout(const std::vector<std::string>& keys,
                                                   const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] != "connect_timeout") continue;
    int seconds = 0;
    const auto& v = values[i];
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec != std::errc() || seconds <= 0) return std::nullopt;
    return std::chrono::seconds(std::max(seconds, 2));
  }
  return std::nullopt;
}

enum class ConnectOutcome : std::uint8_t { Connected, Failed, TimedOut };

// Drives PQconnectPoll to the end.
ConnectOutcome AwaitConnection(PGconn* conn, std::optional<std::chrono::seconds> timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED || PQstatus(conn) == CONNECTION_BAD) {
      return ConnectOutcome::Failed;
    }
    pollfd fd{.fd = PQsocket(conn),
              .events = static_cast<short>(status == PGRES_POLLING_READING ? POLLIN : POLLOUT),
              .revents = 0};
    int wait_ms = -1;
    if (timeout) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return ConnectOutcome::TimedOut;
      wait_ms = static_cast<int>(left.count());
    }
    const int ready = poll(&fd, 1, wait_ms);
    if (ready < 0 && errno != EINTR) return ConnectOutcome::Failed;
    if (ready == 0) return ConnectOutcome::TimedOut;
    status = PQconnectPoll(conn);
  }
  return ConnectOutcome::Connected;
}

}  // namespace

void ThrowCommandError(PGconn* conn, const PGresult* result, std::string_view what) {
  const char* state_text =
      result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string state = state_text == nullptr ? std::string() : std::string(state_text);
  const std::string message =
      TrimMessage(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  if (state.empty()) {  // no server error: the connection is gone
    throw RetryableError(codes::kPgConnection, fmt::format("{}: {}", what, message));
  }
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD ||
      ClassifySqlState(state) == SqlStateClass::Transient) {
    throw TransientServerError(state, fmt::format("{}: {} (SQLSTATE {})", what, message, state));
  }
  throw SqlError(state, fmt::format("{}: {} (SQLSTATE {})", what, message, state));
}

PgConnection PgConnection::Connect(std::string_view conninfo, ConnectionKind kind,
                                   std::string_view application_name) {
  char* parse_error = nullptr;
  const std::string conninfo_text(conninfo);
  std::unique_ptr<PQconninfoOption, ConninfoOptionsDeleter> parsed(
      PQconninfoParse(conninfo_text.c_str(), &parse_error));
  // libpq's parse message may quote part of the string (a password among it): not reported.
  if (parse_error != nullptr) PQfreemem(parse_error);
  if (!parsed) {
    throw ConfigError(
        {fmt::format("invalid PostgreSQL connection string: {}", RedactConnInfo(conninfo))});
  }
  std::vector<std::string> keys;
  std::vector<std::string> values;
  bool has_timeout = false;
  bool has_app_name = false;
  std::string options(kSessionOptions);
  for (const PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key = o->keyword;
    if (key == "options") {
      options = std::string(o->val) + " " + options;  // ours last, so they win
      continue;
    }
    if (key == "replication") continue;
    has_timeout = has_timeout || key == "connect_timeout";
    has_app_name = has_app_name || key == "application_name";
    keys.emplace_back(key);
    values.emplace_back(o->val);
  }
  keys.emplace_back("options");
  values.push_back(options);
  if (!has_timeout) {
    keys.emplace_back("connect_timeout");
    values.emplace_back("10");
  }
  if (!has_app_name) {
    keys.emplace_back("application_name");
    values.emplace_back(application_name);
  }
  if (kind == ConnectionKind::Replication) {
    keys.emplace_back("replication");
    values.emplace_back("database");
  }
  std::vector<const char*> key_ptrs;
  std::vector<const char*> value_ptrs;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    key_ptrs.push_back(keys[i].c_str());
    value_ptrs.push_back(values[i].c_str());
  }
  key_ptrs.push_back(nullptr);
  value_ptrs.push_back(nullptr);
  PgConnection conn(PQconnectStartParams(key_ptrs.data(), value_ptrs.data(), 0));
  if (!conn.conn_)
    throw RetryableError(codes::kPgConnection, "out of memory creating a connection");
  // Verbose while connecting: the only way libpq reports the SQLSTATE of a refused connection.
  PQsetErrorVerbosity(conn.get(), PQERRORS_VERBOSE);
  const auto timeout = ConnectTimeout(keys, values);
  const auto outcome = AwaitConnection(conn.get(), timeout);
  PQsetErrorVerbosity(conn.get(), PQERRORS_DEFAULT);
  if (outcome == ConnectOutcome::TimedOut) {
    throw RetryableError(codes::kPgConnection,
                         fmt::format("connecting to {}: timed out after {} s",
                                     RedactConnInfo(conninfo), timeout->count()));
  }
  if (outcome == ConnectOutcome::Failed) {
    const auto failure = ParseVerboseConnectError(PQerrorMessage(conn.get()));
    const std::string message = fmt::format(
        "connecting to {}: {}{}", RedactConnInfo(conninfo),
        failure.message.empty() ? std::string("unknown error") : failure.message,
        failure.sqlstate ? fmt::format(" (SQLSTATE {})", *failure.sqlstate) : std::string());
    const bool refused =
        failure.sqlstate && ClassifySqlState(*failure.sqlstate) == SqlStateClass::Configuration;
    if (refused) throw RefusedConnection(*failure.sqlstate, message);
    // A password the server wants but the conninfo lacks is just as wrong.
    if (PQconnectionNeedsPassword(conn.get()) != 0) throw ConfigError({message});
    if (failure.sqlstate) throw TransientServerError(*failure.sqlstate, message);
    throw RetryableError(codes::kPgConnection, message);
  }
  return conn;
}

ResultPtr PgConnection::Check(PGresult* raw, std::string_view what) {
  ResultPtr result(raw);
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_OUT ||
      status == PGRES_COPY_BOTH) {
    return result;
  }
  ThrowCommandError(conn_.get(), result.get(), what);
}

ResultPtr PgConnection::Exec(const std::string& sql, std::string_view what) {
  return Check(PQexec(conn_.get(), sql.c_str()), what);
}

ResultPtr PgConnection::ExecParams(const std::string& sql, const std::vector<std::string>& params,
                                   std::string_view what) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  return Check(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                            values.data(), nullptr, nullptr, 0),
               what);
}

std::string PgConnection::QuoteIdent(std::string_view name) const {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string PgConnection::QuoteLiteral(std::string_view text) const {
  // standard_conforming_strings is on in every supported server: only quotes need doubling.
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string PgConnection::QuoteTable(std::string_view schema, std::string_view table) const {
  return QuoteIdent(schema) + "." + QuoteIdent(table);
}

std::optional<std::string> GetValue(const PGresult* result, int row, int col) {
  if (PQgetisnull(result, row, col) != 0) return std::nullopt;
  return std::string(PQgetvalue(result, row, col),
                     static_cast<std::size_t>(PQgetlength(result, row, col)));
}

CancelOnStop::CancelOnStop(const PgConnection& conn, const std::stop_token& stop)
    : cancel_(conn.get() != nullptr ? PQgetCancel(conn.get()) : nullptr) {
  if (cancel_ != nullptr) on_stop_.emplace(stop, Cancel{cancel_});
}

CancelOnStop::~CancelOnStop() {
  on_stop_.reset();  // waits for a cancel running on another thread
  if (cancel_ != nullptr) PQfreeCancel(cancel_);
}

void CancelOnStop::Cancel::operator()() const noexcept {
  std::array<char, 256> error{};
  (void)PQcancel(cancel, error.data(), static_cast<int>(error.size()));  // best effort
}

}  // namespace laredo::pg
