#include "sample_writer.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>

namespace laredo_demo {

DemoConnection::DemoConnection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    // libpq's message names host and port, never the password.
    const std::string message = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("cannot connect: " + message);
  }
  // "does not exist, skipping" notices of DROP ... IF EXISTS would only confuse a demo user.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

DemoConnection::~DemoConnection() { PQfinish(conn_); }

void DemoConnection::Exec(const std::string& sql) { (void)Query(sql); }

std::string DemoConnection::Query(const std::string& sql) {
  PGresult* res = PQexec(conn_, sql.c_str());
  const auto status = PQresultStatus(res);
  std::string value;
  if (status == PGRES_TUPLES_OK && PQntuples(res) > 0) value = PQgetvalue(res, 0, 0);
  const std::string error = PQresultErrorMessage(res);
  PQclear(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("query failed: " + error);
  }
  return value;
}

void CreateSampleTable(const std::string& conninfo, std::int64_t rows) {
  DemoConnection conn(conninfo);
  conn.Exec("DROP TABLE IF EXISTS public.demo_orders");
  conn.Exec(
      "CREATE TABLE public.demo_orders (id bigint PRIMARY KEY, customer text NOT NULL, "
      "status text NOT NULL, amount numeric(10,2), updated_at timestamptz NOT NULL DEFAULT now())");
  conn.Exec(
      "INSERT INTO public.demo_orders (id, customer, status, amount) "
      "SELECT g, 'customer ' || (g % 5000), 'new', (g % 100000) / 100.0 "
      "FROM generate_series(1, " +
      std::to_string(rows) + ") g");
  // So that the baseline can report progress against pg_class.reltuples.
  conn.Exec("ANALYZE public.demo_orders");
}

SampleWriter::SampleWriter(const std::string& conninfo, std::int64_t first_new_id)
    : conn_(std::make_unique<DemoConnection>(conninfo)),
      thread_([this, first_new_id](const std::stop_token& stop) { Run(stop, first_new_id); }) {}

void SampleWriter::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void SampleWriter::Run(const std::stop_token& stop, std::int64_t next_id) {
  std::mt19937_64 rng(42);
  const char* statuses[] = {"paid", "shipped", "delivered", "returned"};
  try {
    // Commits wait for the WAL flush, as an application's would by default: the walsender only
    // sends flushed WAL, so asynchronous commits would show the WAL writer's delay as lag.
    conn_->Exec("SET synchronous_commit = on");
    while (!stop.stop_requested()) {
      // One transaction: 5 new orders, 10 status changes, 2 deletions (~1,700 changes/s).
      auto random_ids = [&](int count) {
        std::string ids;
        for (int i = 0; i < count; ++i) {
          if (i > 0) ids += ',';
          ids += std::to_string(
              1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(next_id - 1)));
        }
        return ids;
      };
      const std::string sql =
          "BEGIN;"
          "INSERT INTO public.demo_orders (id, customer, status, amount) "
          "SELECT g, 'customer ' || (g % 5000), 'new', (g % 100000) / 100.0 "
          "FROM generate_series(" +
          std::to_string(next_id) + ", " + std::to_string(next_id + 4) +
          ") g;"
          "UPDATE public.demo_orders SET status = '" +
          statuses[rng() % 4] + "', amount = amount + 1, updated_at = now() WHERE id IN (" +
          random_ids(10) + ");DELETE FROM public.demo_orders WHERE id IN (" + random_ids(2) +
          ");COMMIT";
      conn_->Exec(sql);
      next_id += 5;
      transactions_.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the demo's write rate
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer stopped: %s\n", e.what());
  }
}

}  // namespace laredo_demo
