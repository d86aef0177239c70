// Adding a table to a running source (`Source::AddTable`): the checks, the publication, and the
// point the reload that follows must wait for.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "catalog.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "laredo/pg/source.hpp"
#include "publication.hpp"
#include "source_impl.hpp"

namespace laredo::pg {

std::vector<ColumnDefinition> Source::AddTable(const TableIdentifier& table) {
  auto& impl = *impl_;
  if (std::find(impl.tables.begin(), impl.tables.end(), table) != impl.tables.end()) {
    impl.reloads.BeginAgain(table);  // a second target: a reload under way begins again for it
    return impl.columns.at(table);
  }
  const auto name = table.ToString();
  if (const int version = impl.server_version.load(); version != 0 && version < 140000) {
    throw ConfigError({fmt::format(
        "pg source: {}: server version {} has no logical decoding messages in pgoutput, which "
        "loading a table while streaming needs (PostgreSQL 14 or later)",
        name, version)});
  }
  auto conn = PgConnection::Connect(impl.options.conninfo, ConnectionKind::Normal);
  const auto& o = impl.options;
  std::vector<std::string> problems;
  for (const auto& p : Validate(conn, {table}, impl.publication, o.manage_publication)) {
    problems.push_back(p.ToString());
  }
  auto discovered = DiscoverColumns(conn, {table});
  for (const auto& p : ApplyColumnLists(discovered, o.tables)) problems.push_back(p.ToString());
  const auto it = discovered.find(table);
  if (problems.empty() && it == discovered.end()) problems.push_back(name + ": no such table");
  if (problems.empty() && std::none_of(it->second.begin(), it->second.end(),
                                       [](const auto& c) { return c.primary_key; })) {
    problems.push_back(name +
                       ": it has no primary key, and a table added while streaming is loaded in "
                       "chunks by key (add its pipeline before Start: a baseline loads it)");
  }
  if (!problems.empty())
    throw ConfigError({fmt::format("pg source: {}", fmt::join(problems, "; "))});

  auto tables = impl.tables;
  tables.push_back(table);
  if (o.manage_publication) {
    const auto sync = SyncPublication(conn, impl.publication, impl.consumer, tables, o.tables);
    for (const auto& p : sync.problems) problems.push_back(p.ToString());
  }
  for (const auto& p : PublicationProblems(conn, impl.publication, {table}, o.manage_publication)) {
    problems.push_back(p.ToString());
  }
  if (!problems.empty())
    throw ConfigError({fmt::format("pg source: {}", fmt::join(problems, "; "))});
  // The reload's first chunk waits for the transactions open at this point (see
  // ReloadRunner::AwaitTransactionsBefore), while the stream flows meanwhile.
  const auto now = conn.Exec("SELECT clock_timestamp()", "reading the server's clock");
  impl.reloads.AwaitTransactionsBefore(table, GetValue(now.get(), 0, 0).value_or(""));

  impl.tables = std::move(tables);
  impl.columns[table] = it->second;
  {
    std::lock_guard lk(impl.mu);
    impl.reloadable[table] = true;
  }
  Logger()->info("pg source: added {} ({} columns) to publication {}", table.ToString(),
                 it->second.size(), impl.publication);
  return it->second;
}

}  // namespace laredo::pg
