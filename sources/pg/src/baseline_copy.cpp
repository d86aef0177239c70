#include "baseline_copy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <iterator>
#include <memory>
#include <thread>

#include "baseline_plan.hpp"
#include "catalog.hpp"
#include "copy_binary.hpp"
#include "copy_text.hpp"
#include "laredo/error_codes.hpp"
#include "pg_connection.hpp"
#include "shared/handoff_queue.hpp"
#include "type_mapping.hpp"

namespace laredo::pg {
namespace {

PgConnection OpenSnapshotConnection(std::string_view conninfo, std::string_view snapshot) {
  auto conn = PgConnection::Connect(conninfo, ConnectionKind::Normal, "laredo baseline");
  conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting the baseline transaction");
  try {
    conn.Exec(fmt::format("SET TRANSACTION SNAPSHOT {}", conn.QuoteLiteral(snapshot)),
              "importing the slot's snapshot");
  } catch (const SqlError& e) {
    // 22023 (invalid_parameter_value): the snapshot is gone because the replication connection
    // that exported it ended (its walsender was terminated, found by the chaos run). A new
    // baseline on a new slot exports another one.
    if (e.sqlstate() != "22023") throw;
    throw TransientServerError(e.sqlstate(), e.what());
  }
  return conn;
}

// Copies one table, calling `emit` per row; false when stopped.
bool CopyTable(PgConnection& conn, const CopyJob& job, std::stop_token stop,
               const std::function<void(Row)>& emit) {
  std::vector<std::string> quoted;
  std::vector<std::string> names;
  for (const auto& c : job.columns) {
    quoted.push_back(conn.QuoteIdent(c.name));
    names.push_back(c.name);
  }
  const auto shared_names = ColumnNames::Make(std::move(names));
  const std::string what = fmt::format("copying {}", job.table.ToString());
  const std::string table = conn.QuoteTable(job.table.schema, job.table.table);
  // COPY reads a plain table only; a partitioned one (its partitions' rows) through a query.
  auto kind =
      conn.ExecParams("SELECT relkind FROM pg_class WHERE oid = to_regclass($1)", {table}, what);
  const bool partitioned = PQntuples(kind.get()) == 1 && GetValue(kind.get(), 0, 0) == "p";
  std::vector<std::string> where;
  if (!job.row_filter.empty()) where.push_back("(" + job.row_filter + ")");
  if (job.blocks) {
    where.push_back(fmt::format("ctid >= '({},0)'::tid", job.blocks->first));
    if (job.blocks->end) where.push_back(fmt::format("ctid < '({},0)'::tid", *job.blocks->end));
  }
  const bool binary = !job.binary_types.empty();
  const char* format = binary ? " (FORMAT binary)" : "";
  try {
    if (where.empty() && !partitioned) {
      conn.Exec(fmt::format("COPY {} ({}) TO STDOUT{}", table, fmt::join(quoted, ", "), format),
                what);
    } else {
      conn.Exec(
          fmt::format("COPY (SELECT {} FROM {}{}) TO STDOUT{}", fmt::join(quoted, ", "), table,
                      where.empty() ? "" : " WHERE " + fmt::format("{}", fmt::join(where, " AND ")),
                      format),
          what);
    }
  } catch (const SqlError& e) {
    // COPY resolves names in the current catalog, not in the imported snapshot the columns were
    // read in: a column renamed or dropped (42703), or the table renamed or dropped (42P01), since
    // the slot was created fails it (found by the chaos run). A new baseline reads the new
    // catalog; a table that is really gone is then reported as such.
    if (e.sqlstate() != "42703" && e.sqlstate() != "42P01") throw;
    throw TransientServerError(e.sqlstate(),
                               std::string(e.what()) +
                                   " (the table changed after the baseline's snapshot was "
                                   "taken; a new baseline reads it again)");
  }
  CopyTextParser text_parser;
  CopyBinaryParser binary_parser(job.columns.size());
  for (;;) {
    char* raw = nullptr;
    const int n = PQgetCopyData(conn.get(), &raw, 0);
    if (n == -1) break;
    if (n == -2) ThrowCommandError(conn.get(), nullptr, what);
    std::unique_ptr<char, void (*)(void*)> line(raw, PQfreemem);
    const std::string_view data(raw, static_cast<std::size_t>(n));
    const auto* fields = binary ? binary_parser.Parse(data) : &text_parser.Parse(data);
    if (fields == nullptr) continue;  // binary header or trailer
    if (fields->size() != job.columns.size()) {
      throw DataError(codes::kBadCopyLine, fmt::format("{}: expected {} fields, got {}", what,
                                                       job.columns.size(), fields->size()));
    }
    std::vector<Value> values;
    values.reserve(fields->size());
    for (std::size_t i = 0; i < fields->size(); ++i) {
      const auto& field = (*fields)[i];
      if (field.is_null) {
        values.emplace_back();
      } else if (binary) {
        values.push_back(
            BinaryColumnValue(job.binary_types[i], field.text, job.table, job.columns[i].name));
      } else {
        const auto type = job.value_types.empty() ? job.columns[i].type_oid : job.value_types[i];
        values.push_back(TextToValue(type, field.text));
      }
    }
    emit(Row(shared_names, std::move(values)));
    if (stop.stop_requested()) return false;  // the connection is dropped mid-COPY by the caller
  }
  if (binary && !binary_parser.finished()) {
    throw DataError(codes::kBadCopyLine,
                    fmt::format("{}: binary COPY ended without its trailer", what));
  }
  ResultPtr result(PQgetResult(conn.get()));
  if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    ThrowCommandError(conn.get(), result.get(), what);
  }
  while (ResultPtr rest{PQgetResult(conn.get())}) {
  }
  return true;
}

// Rows travel from workers to the calling thread in batches, through a bounded queue.
struct Batch {
  const TableIdentifier* table = nullptr;
  std::vector<Row> rows;
};

}  // namespace

std::map<TableIdentifier, std::vector<ColumnDefinition>> ColumnsAtSnapshot(
    std::string_view conninfo, std::string_view snapshot,
    const std::vector<TableIdentifier>& tables) {
  auto conn = OpenSnapshotConnection(conninfo, snapshot);
  auto columns = DiscoverColumns(conn, tables);
  conn.Exec("COMMIT", "ending the catalog read");
  return columns;
}

namespace {

// The jobs with every large plain table split into block ranges (see CopySnapshot). The sizes are
// the tables' physical sizes now, read outside the snapshot: the last range of each table is
// open-ended, so a table that grew since is still copied whole.
std::vector<CopyJob> PlanJobs(std::string_view conninfo, const std::vector<CopyJob>& jobs,
                              std::uint64_t chunk_bytes) {
  auto conn = PgConnection::Connect(conninfo, ConnectionKind::Normal, "laredo baseline");
  // Older servers have no TID range scan: every range would read the whole table.
  if (PQserverVersion(conn.get()) < 140000) return jobs;
  std::vector<CopyJob> out;
  for (const auto& job : jobs) {
    auto r = conn.ExecParams(
        "SELECT relkind, pg_relation_size(oid) / current_setting('block_size')::bigint, "
        "current_setting('block_size')::bigint FROM pg_class WHERE oid = to_regclass($1)",
        {conn.QuoteTable(job.table.schema, job.table.table)},
        fmt::format("sizing {}", job.table.ToString()));
    if (PQntuples(r.get()) != 1 || GetValue(r.get(), 0, 0) != "r") {
      out.push_back(job);  // partitioned, or gone (the copy reports it)
      continue;
    }
    const auto blocks = std::stoull(GetValue(r.get(), 0, 1).value_or("0"));
    const auto block_size =
        std::max<std::uint64_t>(1, std::stoull(GetValue(r.get(), 0, 2).value_or("8192")));
    auto parts = SplitByBlocks(job, blocks, std::max<std::uint64_t>(1, chunk_bytes / block_size));
    out.insert(out.end(), std::make_move_iterator(parts.begin()),
               std::make_move_iterator(parts.end()));
  }
  return out;
}

}  // namespace

void CopySnapshot(std::string_view conninfo, std::string_view snapshot,
                  const std::vector<CopyJob>& table_jobs, int parallelism,
                  std::uint64_t chunk_bytes, std::stop_token stop, const CopyRowSink& sink) {
  if (table_jobs.empty()) return;
  const auto workers = static_cast<std::size_t>(std::max(1, parallelism));
  const auto jobs = workers == 1 ? table_jobs : PlanJobs(conninfo, table_jobs, chunk_bytes);
  if (workers == 1 || jobs.size() == 1) {
    auto conn = OpenSnapshotConnection(conninfo, snapshot);
    for (const auto& job : jobs) {
      if (!CopyTable(conn, job, stop, [&](Row row) { sink(job.table, std::move(row)); })) return;
    }
    conn.Exec("COMMIT", "ending the baseline transaction");
    return;
  }
  constexpr std::size_t kBatchRows = 1024;
  shared::HandoffQueue<Batch> queue(16);
  std::atomic<std::size_t> next_job{0};
  std::stop_source abort;  // set when the consumer leaves, normally or by an exception
  std::vector<std::jthread> threads;
  // Declared after the queue and the threads, so it runs first on every exit (also when `sink`
  // throws): a worker blocked on the full queue wakes, and the threads are joined.
  struct Leave {
    std::stop_source& abort;
    shared::HandoffQueue<Batch>& queue;
    std::vector<std::jthread>& threads;
    ~Leave() {
      abort.request_stop();
      queue.Close();
      threads.clear();  // joins
    }
  } leave{abort, queue, threads};
  for (std::size_t w = 0; w < std::min(workers, jobs.size()); ++w) {
    queue.AddProducer();
    threads.emplace_back([&] {
      std::exception_ptr error;
      try {
        auto conn = OpenSnapshotConnection(conninfo, snapshot);
        for (std::size_t i = next_job++; i < jobs.size(); i = next_job++) {
          Batch batch{.table = &jobs[i].table, .rows = {}};
          const bool done = CopyTable(conn, jobs[i], abort.get_token(), [&](Row row) {
            batch.rows.push_back(std::move(row));
            if (batch.rows.size() == kBatchRows) {
              if (!queue.Push(std::move(batch))) abort.request_stop();
              batch = Batch{.table = &jobs[i].table, .rows = {}};
            }
          });
          if (!done) break;
          if (!batch.rows.empty() && !queue.Push(std::move(batch))) break;
        }
      } catch (...) {
        error = std::current_exception();
      }
      queue.ProducerDone(error);
    });
  }
  Batch batch;
  while (queue.Pop(batch, stop)) {
    for (auto& row : batch.rows) {
      sink(*batch.table, std::move(row));
      if (stop.stop_requested()) break;
    }
    if (stop.stop_requested()) break;
  }
  if (auto error = queue.error(); error && !stop.stop_requested()) std::rethrow_exception(error);
}

}  // namespace laredo::pg
