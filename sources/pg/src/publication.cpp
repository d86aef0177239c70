#include "publication.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

// The COMMENT of a managed publication: {"laredo": {"consumer": "...", "tables": [["s", "t"]]}}.
struct OwnerRecord {
  std::string consumer;
  std::set<TableIdentifier> tables;
};

std::optional<OwnerRecord> ParseRecord(const std::optional<std::string>& comment) {
  if (!comment) return std::nullopt;
  const auto json = nlohmann::json::parse(*comment, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("laredo") || !json["laredo"].is_object()) {
    return std::nullopt;  // someone else's comment: not managed by a laredo source
  }
  const auto& r = json["laredo"];
  OwnerRecord record;
  if (r.contains("consumer") && r["consumer"].is_string()) record.consumer = r["consumer"];
  if (r.contains("tables") && r["tables"].is_array()) {
    for (const auto& t : r["tables"]) {
      if (t.is_array() && t.size() == 2 && t[0].is_string() && t[1].is_string()) {
        record.tables.insert(Table(t[0].get<std::string>(), t[1].get<std::string>()));
      }
    }
  }
  return record;
}

std::string RecordText(const OwnerRecord& record) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : record.tables) tables.push_back({t.schema, t.table});
  return nlohmann::json{{"laredo", {{"consumer", record.consumer}, {"tables", tables}}}}.dump();
}

// "schema"."table" (columns) WHERE (filter), as ADD TABLE and CREATE PUBLICATION take it.
std::string Spec(PgConnection& conn, const TableIdentifier& t,
                 const std::map<TableIdentifier, TableOptions>& options) {
  std::string spec = conn.QuoteTable(t.schema, t.table);
  if (auto it = options.find(t); it != options.end()) {
    if (!it->second.columns.empty()) {
      std::vector<std::string> quoted;
      for (const auto& c : it->second.columns) quoted.push_back(conn.QuoteIdent(c));
      spec += fmt::format(" ({})", fmt::join(quoted, ", "));
    }
    if (!it->second.row_filter.empty()) spec += fmt::format(" WHERE ({})", it->second.row_filter);
  }
  return spec;
}

bool Refined(const TableIdentifier& t, const std::map<TableIdentifier, TableOptions>& options) {
  auto it = options.find(t);
  return it != options.end() && (!it->second.columns.empty() || !it->second.row_filter.empty());
}

std::set<TableIdentifier> Tables(const ResultPtr& result) {
  std::set<TableIdentifier> out;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    out.insert(Table(GetValue(result.get(), r, 0).value_or(""),
                     GetValue(result.get(), r, 1).value_or("")));
  }
  return out;
}

}  // namespace

PublicationSync SyncPublication(PgConnection& conn, std::string_view publication,
                                std::string_view consumer,
                                const std::vector<TableIdentifier>& tables,
                                const std::map<TableIdentifier, TableOptions>& options) {
  const std::string pub(publication);
  const std::string quoted = conn.QuoteIdent(pub);
  const std::string what = fmt::format("maintaining publication {}", publication);
  PublicationSync result;
  conn.Exec("BEGIN", what);
  auto existing = conn.ExecParams(
      "SELECT puballtables, obj_description(oid, 'pg_publication'), pubviaroot "
      "FROM pg_publication WHERE pubname = $1",
      {pub}, what);
  OwnerRecord mine{.consumer = std::string(consumer), .tables = {}};
  if (PQntuples(existing.get()) == 0) {
    std::vector<std::string> specs;
    specs.reserve(tables.size());
    for (const auto& t : tables) specs.push_back(Spec(conn, t, options));
    mine.tables.insert(tables.begin(), tables.end());
    // A slot kept from before cannot have decoded these tables' changes through a publication
    // that did not exist (one dropped, or lost with a crash): it must not resume.
    result.restored.assign(tables.begin(), tables.end());
    conn.Exec(fmt::format("CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root)",
                          quoted, fmt::join(specs, ", ")),
              what);
  } else {
    if (GetValue(existing.get(), 0, 0).value_or("") == "t") {
      conn.Exec("COMMIT", what);
      return result;
    }
    const bool via_root = GetValue(existing.get(), 0, 2).value_or("") == "t";
    const auto record = ParseRecord(GetValue(existing.get(), 0, 1));
    if (record && record->consumer != consumer) {
      conn.Exec("ROLLBACK", what);
      result.problems.push_back(
          {std::nullopt, validation_codes::kPublicationManagedByOther,
           fmt::format("publication \"{}\" is managed by another consumer (\"{}\"); give this "
                       "source a publication of its own (the default) or turn "
                       "manage_publication off",
                       publication, record->consumer)});
      return result;
    }
    const auto have = Tables(conn.ExecParams(
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1", {pub}, what));
    const auto refined_before = Tables(conn.ExecParams(
        "SELECT n.nspname, c.relname FROM pg_publication_rel r "
        "JOIN pg_publication p ON p.oid = r.prpubid JOIN pg_class c ON c.oid = r.prrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE p.pubname = $1 AND (r.prqual IS NOT NULL OR r.prattrs IS NOT NULL)",
        {pub}, what));
    const std::set<TableIdentifier> owned = record ? record->tables : std::set<TableIdentifier>{};
    const std::set<TableIdentifier> want(tables.begin(), tables.end());
    std::vector<std::string> add;
    std::vector<std::string> drop;
    std::vector<TableIdentifier> reapply;
    for (const auto& t : want) {
      if (!have.contains(t)) {
        add.push_back(Spec(conn, t, options));
        mine.tables.insert(t);
        // Whoever took it out (a person, or a crash that lost the commit that added it, as the
        // chaos run found), an existing slot has not decoded its changes since: no resume.
        result.restored.push_back(t);
      } else if (owned.contains(t)) {
        mine.tables.insert(t);
        // The server's normalised text cannot be compared with ours: applied again.
        if (Refined(t, options) || refined_before.contains(t)) reapply.push_back(t);
      } else if (Refined(t, options)) {
        result.problems.push_back(
            {t, validation_codes::kTablePublishedByOthers,
             fmt::format("publication \"{}\" already publishes the table, added by someone else: "
                         "its column list and row filter are not this source's to change",
                         publication)});
      }
    }
    for (const auto& t : owned) {
      if (!want.contains(t) && have.contains(t)) drop.push_back(conn.QuoteTable(t.schema, t.table));
    }
    for (const auto& t : reapply) {
      conn.Exec(fmt::format("ALTER PUBLICATION {} DROP TABLE {}", quoted,
                            conn.QuoteTable(t.schema, t.table)),
                what);
      add.push_back(Spec(conn, t, options));
    }
    if (!drop.empty()) {
      conn.Exec(fmt::format("ALTER PUBLICATION {} DROP TABLE {}", quoted, fmt::join(drop, ", ")),
                what);
    }
    if (!add.empty()) {
      conn.Exec(fmt::format("ALTER PUBLICATION {} ADD TABLE {}", quoted, fmt::join(add, ", ")),
                what);
    }
    // A partitioned table's changes must arrive under its own name, not its partitions'.
    if (!via_root && record) {
      conn.Exec(fmt::format("ALTER PUBLICATION {} SET (publish_via_partition_root)", quoted), what);
    }
    if (!result.problems.empty()) {
      conn.Exec("ROLLBACK", what);
      return result;
    }
  }
  conn.Exec(
      fmt::format("COMMENT ON PUBLICATION {} IS {}", quoted, conn.QuoteLiteral(RecordText(mine))),
      what);
  conn.Exec("COMMIT", what);
  return result;
}

std::vector<TableIdentifier> TablesMissingFrom(PgConnection& conn, std::string_view publication,
                                               const std::vector<TableIdentifier>& tables) {
  const std::string what = fmt::format("reading publication {}", publication);
  const std::string name = conn.QuoteLiteral(publication);
  auto pub = conn.Exec("SELECT puballtables FROM pg_publication WHERE pubname = " + name, what);
  if (PQntuples(pub.get()) == 1 && GetValue(pub.get(), 0, 0).value_or("") == "t") return {};
  const auto have = Tables(conn.Exec(
      "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = " + name, what));
  std::vector<TableIdentifier> missing;
  for (const auto& t : tables) {
    if (!have.contains(t)) missing.push_back(t);
  }
  return missing;
}

std::string TableList(const std::vector<TableIdentifier>& tables) {
  std::string out;
  for (const auto& t : tables) out += (out.empty() ? "" : ", ") + t.ToString();
  return out;
}

std::vector<TableIdentifier> PartitionedTablesPublishedAsLeaves(
    PgConnection& conn, std::string_view publication, const std::vector<TableIdentifier>& tables) {
  const std::string what = fmt::format("reading publication {}", publication);
  auto pub = conn.ExecParams("SELECT pubviaroot FROM pg_publication WHERE pubname = $1",
                             {std::string(publication)}, what);
  if (PQntuples(pub.get()) == 0 || GetValue(pub.get(), 0, 0).value_or("") == "t") return {};
  std::vector<TableIdentifier> leaves;
  for (const auto& t : tables) {
    auto kind = conn.ExecParams(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'p'",
        {t.schema, t.table}, what);
    if (PQntuples(kind.get()) == 1) leaves.push_back(t);
  }
  return leaves;
}

std::vector<ValidationError> PublicationProblems(PgConnection& conn, std::string_view publication,
                                                 const std::vector<TableIdentifier>& tables,
                                                 bool managed) {
  std::vector<ValidationError> problems;
  const auto as_leaves = PartitionedTablesPublishedAsLeaves(conn, publication, tables);
  for (const auto& t : TablesMissingFrom(conn, publication, tables)) {
    // Published, but under its partitions' names: reported below.
    if (std::find(as_leaves.begin(), as_leaves.end(), t) != as_leaves.end()) continue;
    problems.push_back({t, validation_codes::kTableNotInPublication,
                        fmt::format("the table is not in publication \"{}\"{}", publication,
                                    managed ? "" : " (ALTER PUBLICATION ... ADD TABLE)")});
  }
  for (const auto& t : as_leaves) {
    problems.push_back(
        {t, validation_codes::kPartitionsPublishedAsLeaves,
         fmt::format("the table is partitioned and publication \"{}\" sends its changes under "
                     "the partitions' names; ALTER PUBLICATION ... SET "
                     "(publish_via_partition_root = true)",
                     publication)});
  }
  return problems;
}

}  // namespace laredo::pg
