#pragma once

// The demo's side of the database: creates the sample table and writes changes to it from a
// second connection (plain libpq), as an application would while laredo replicates.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

struct pg_conn;

namespace laredo_demo {

/// One libpq connection. Errors throw `std::runtime_error` with the server's message.
class DemoConnection {
 public:
  explicit DemoConnection(const std::string& conninfo);
  ~DemoConnection();
  DemoConnection(const DemoConnection&) = delete;
  DemoConnection& operator=(const DemoConnection&) = delete;

  void Exec(const std::string& sql);
  /// The first column of the first row ("" when there is none).
  std::string Query(const std::string& sql);

 private:
  pg_conn* conn_;
};

/// Creates (replacing) public.demo_orders with `rows` rows.
void CreateSampleTable(const std::string& conninfo, std::int64_t rows);

/// Writes transactions of inserts, updates and deletes to public.demo_orders on its own thread
/// until destroyed or `Stop()`.
class SampleWriter {
 public:
  /// `first_new_id`: the id of the next inserted row (the table holds 1 .. first_new_id - 1).
  SampleWriter(const std::string& conninfo, std::int64_t first_new_id);
  void Stop();
  [[nodiscard]] std::uint64_t transactions() const { return transactions_.load(); }

 private:
  void Run(const std::stop_token& stop, std::int64_t next_id);

  std::unique_ptr<DemoConnection> conn_;
  std::atomic<std::uint64_t> transactions_{0};
  std::jthread thread_;  // last: joined before the connection goes away
};

}  // namespace laredo_demo
