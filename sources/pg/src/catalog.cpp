#include "catalog.hpp"

#include <fmt/format.h>

#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

constexpr const char* kColumnsSql = R"sql(
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid::int8, a.atttypmod,
       a.attnotnull, a.attnum,
       coalesce((SELECT k.ord FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                 WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum), 0),
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum)sql";

constexpr const char* kTableSql = R"sql(
SELECT has_table_privilege(c.oid, 'SELECT'),
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
       c.relreplident
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p'))sql";

bool IsTrue(const std::optional<std::string>& v) { return v && *v == "t"; }

}  // namespace

std::map<TableIdentifier, std::vector<ColumnDefinition>> DiscoverColumns(
    PgConnection& conn, const std::vector<TableIdentifier>& tables) {
  std::map<TableIdentifier, std::vector<ColumnDefinition>> out;
  for (const auto& table : tables) {
    auto result = conn.ExecParams(kColumnsSql, {table.schema, table.table},
                                  fmt::format("discovering the columns of {}", table.ToString()));
    const int rows = PQntuples(result.get());
    if (rows == 0) continue;
    auto& columns = out[table];
    for (int r = 0; r < rows; ++r) {
      ColumnDefinition c;
      c.name = GetValue(result.get(), r, 0).value_or("");
      c.type = GetValue(result.get(), r, 1).value_or("");
      c.type_oid = static_cast<std::uint32_t>(std::stoull(GetValue(result.get(), r, 2).value()));
      c.type_modifier = std::stoi(GetValue(result.get(), r, 3).value());
      c.nullable = !IsTrue(GetValue(result.get(), r, 4));
      c.ordinal_position = std::stoi(GetValue(result.get(), r, 5).value());
      c.primary_key_ordinal = std::stoi(GetValue(result.get(), r, 6).value());
      c.primary_key = c.primary_key_ordinal > 0;
      c.default_value = GetValue(result.get(), r, 7);
      columns.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<ValidationError> Validate(PgConnection& conn,
                                      const std::vector<TableIdentifier>& tables,
                                      std::string_view publication, bool manage_publication) {
  std::vector<ValidationError> problems;
  auto wal = conn.Exec("SHOW wal_level", "reading wal_level");
  const auto wal_level = GetValue(wal.get(), 0, 0).value_or("");
  if (wal_level != "logical") {
    problems.push_back({std::nullopt, validation_codes::kWalLevelNotLogical,
                        fmt::format("wal_level is '{}'; set wal_level = logical in "
                                    "postgresql.conf and restart the server",
                                    wal_level)});
  }
  auto role =
      conn.Exec("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user",
                "reading the role's privileges");
  if (!IsTrue(GetValue(role.get(), 0, 0))) {
    problems.push_back({std::nullopt, validation_codes::kNoReplicationPrivilege,
                        "the role lacks the REPLICATION attribute; ALTER ROLE ... REPLICATION"});
  }
  auto pub = conn.ExecParams("SELECT 1 FROM pg_publication WHERE pubname = $1",
                             {std::string(publication)}, "reading the publication");
  if (!manage_publication && PQntuples(pub.get()) == 0) {
    problems.push_back({std::nullopt, validation_codes::kPublicationNotFound,
                        fmt::format("publication \"{}\" does not exist and publication "
                                    "management is off; CREATE PUBLICATION it or enable "
                                    "manage_publication",
                                    publication)});
  }
  for (const auto& table : tables) {
    auto result = conn.ExecParams(kTableSql, {table.schema, table.table},
                                  fmt::format("checking {}", table.ToString()));
    if (PQntuples(result.get()) == 0) {
      problems.push_back(
          {table, validation_codes::kTableNotFound, "no such table (or no access to its schema)"});
      continue;
    }
    if (!IsTrue(GetValue(result.get(), 0, 0))) {
      problems.push_back(
          {table, validation_codes::kNoSelectPrivilege, "the role may not SELECT from the table"});
    }
    const bool has_pk = IsTrue(GetValue(result.get(), 0, 1));
    if (!has_pk && GetValue(result.get(), 0, 2).value_or("") != "f") {
      problems.push_back({table, validation_codes::kNoPrimaryKey,
                          "the table has no primary key and its replica identity is not FULL; "
                          "add a primary key or ALTER TABLE ... REPLICA IDENTITY FULL"});
    }
  }
  return problems;
}

bool AddedColumnMayHaveValues(PgConnection& conn, const TableIdentifier& table,
                              std::string_view column) {
  auto result = conn.ExecParams(
      "SELECT a.atthasmissing OR a.atthasdef FROM pg_attribute a "
      "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND NOT a.attisdropped",
      {table.schema, table.table, std::string(column)},
      fmt::format("reading column {} of {}", column, table.ToString()));
  return PQntuples(result.get()) != 1 || IsTrue(GetValue(result.get(), 0, 0));
}

std::optional<SlotInfo> QuerySlotInfo(PgConnection& conn, std::string_view slot) {
  auto result = conn.ExecParams(
      "SELECT confirmed_flush_lsn::text, coalesce(wal_status, ''), active "
      "FROM pg_replication_slots WHERE slot_name = $1",
      {std::string(slot)}, fmt::format("reading replication slot {}", slot));
  if (PQntuples(result.get()) == 0) return std::nullopt;
  SlotInfo info;
  if (auto lsn = GetValue(result.get(), 0, 0)) info.confirmed_flush = Lsn::Parse(*lsn);
  info.wal_status = GetValue(result.get(), 0, 1).value_or("");
  info.active = IsTrue(GetValue(result.get(), 0, 2));
  return info;
}

std::optional<std::uint64_t> EstimateRowCount(PgConnection& conn, const TableIdentifier& table) {
  auto result = conn.ExecParams(
      "SELECT c.reltuples::float8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2",
      {table.schema, table.table}, fmt::format("estimating the rows of {}", table.ToString()));
  if (PQntuples(result.get()) == 0) return std::nullopt;
  const double tuples = std::stod(GetValue(result.get(), 0, 0).value_or("-1"));
  if (tuples < 0) return std::nullopt;  // never vacuumed or analysed
  return static_cast<std::uint64_t>(tuples);
}

ServerLag QueryServerLag(PgConnection& conn, std::string_view slot) {
  auto result = conn.ExecParams(
      "SELECT pg_current_wal_lsn()::text, "
      "(extract(epoch FROM clock_timestamp()) * 1000000)::int8, "
      "(SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::int8 FROM pg_replication_slots "
      "WHERE slot_name = $1)",
      {std::string(slot)}, "reading the replication lag");
  ServerLag lag;
  if (PQntuples(result.get()) == 0) return lag;
  if (const auto v = GetValue(result.get(), 0, 0)) lag.current_lsn = Lsn::Parse(*v);
  if (const auto v = GetValue(result.get(), 0, 1)) {
    lag.now = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::microseconds(std::stoll(*v))));
  }
  if (const auto v = GetValue(result.get(), 0, 2)) {
    lag.slot_lag_bytes = std::max<std::int64_t>(0, std::stoll(*v));
  }
  return lag;
}

}  // namespace laredo::pg
