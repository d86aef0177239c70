#include "pg_connection.hpp"

#include <fmt/format.h>

#include <array>

#include "conninfo.hpp"

namespace laredo::pg {
namespace {

struct ConninfoOptionsDeleter {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};

bool IsTransientSqlState(std::string_view state) {
  // 55006: a replication slot still held by a walsender that is exiting.
  constexpr std::array<std::string_view, 7> kTransient = {"57P01", "57P02", "57P03", "53300",
                                                          "40001", "40P01", "55006"};
  if (state.starts_with("08")) return true;  // connection exception
  for (auto s : kTransient) {
    if (state == s) return true;
  }
  return false;
}

std::string TrimMessage(const char* message) {
  std::string text = message == nullptr ? std::string() : std::string(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? std::string("unknown error") : text;
}

}  // namespace

void ThrowCommandError(PGconn* conn, const PGresult* result, std::string_view what) {
  const char* state_text =
      result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string state = state_text == nullptr ? std::string() : std::string(state_text);
  const std::string message =
      TrimMessage(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD || state.empty() ||
      IsTransientSqlState(state)) {
    throw RetryableError("pg_connection",
                         fmt::format("{}: {}{}", what, message,
                                     state.empty() ? "" : fmt::format(" (SQLSTATE {})", state)));
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
  PgConnection conn(PQconnectdbParams(key_ptrs.data(), value_ptrs.data(), 0));
  if (!conn.conn_) throw RetryableError("pg_connection", "out of memory creating a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw RetryableError("pg_connection",
                         fmt::format("connecting to {}: {}", RedactConnInfo(conninfo),
                                     TrimMessage(PQerrorMessage(conn.get()))));
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

}  // namespace laredo::pg
