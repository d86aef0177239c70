#pragma once

// Helpers shared by the PostgreSQL benchmarks: a libpq connection, a throwaway server when no
// LAREDO_PG_CONNINFO is set, running the PostgreSQL client tools without a shell, and the bench
// table (id bigint primary key, a int, b text of ~100 bytes, c timestamptz, d small jsonb).

#include <fcntl.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_util.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): for posix_spawn

namespace laredo::bench {

/// One libpq connection; every failure throws with the server's message (never the conninfo).
class PgConn {
 public:
  explicit PgConn(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str()), &PQfinish) {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      throw std::runtime_error(std::string("connect: ") + PQerrorMessage(conn_.get()));
    }
    // "does not exist, skipping" notices of the setup's DROP ... IF EXISTS are noise here.
    PQsetNoticeProcessor(
        conn_.get(), [](void*, const char*) {}, nullptr);
  }
  PGconn* get() const { return conn_.get(); }

  void Exec(const std::string& sql) const { (void)Query(sql); }

  /// The first column of the first row, or "" when the result has no rows.
  std::string Query(const std::string& sql) const {
    std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn_.get(), sql.c_str()), &PQclear);
    const auto status = PQresultStatus(res.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw std::runtime_error("query failed: " + sql.substr(0, 80) + ": " +
                               PQresultErrorMessage(res.get()));
    }
    if (status != PGRES_TUPLES_OK || PQntuples(res.get()) == 0) return {};
    return PQgetvalue(res.get(), 0, 0);
  }

 private:
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
};

/// LAREDO_PG_CONNINFO, or a throwaway server started with tests/pg/pg_server.sh (stopped again
/// by the destructor).
class BenchServer {
 public:
  BenchServer() {
    // Read before any thread starts; nothing calls setenv.
    const char* env = std::getenv("LAREDO_PG_CONNINFO");  // NOLINT(concurrency-mt-unsafe)
    if (env != nullptr && *env != '\0') {
      conninfo_ = env;
      return;
    }
    dir_ = "/tmp/laredo-bench-pg-" + std::to_string(getpid());
    const std::string log = dir_ + ".log";  // initdb's chatter; kept only when the start fails
    const std::string cmd =
        std::string(LAREDO_SOURCE_DIR) + "/tests/pg/pg_server.sh start " + dir_ + " 2>" + log;
    std::fprintf(stderr, "no LAREDO_PG_CONNINFO: starting a throwaway server in %s\n",
                 dir_.c_str());
    FILE* out = popen(cmd.c_str(), "r");
    if (out == nullptr) throw std::runtime_error("cannot run pg_server.sh");
    char line[1024];
    while (std::fgets(line, sizeof line, out) != nullptr) {
      const std::string text = line;
      const std::string prefix = "export LAREDO_PG_CONNINFO='";
      if (text.rfind(prefix, 0) == 0) {
        conninfo_ = text.substr(prefix.size(), text.rfind('\'') - prefix.size());
      }
    }
    if (pclose(out) != 0 || conninfo_.empty()) {
      throw std::runtime_error("pg_server.sh failed, see " + log);
    }
    std::remove(log.c_str());
  }
  ~BenchServer() {
    if (dir_.empty()) return;
    const std::string cmd =
        std::string(LAREDO_SOURCE_DIR) + "/tests/pg/pg_server.sh stop " + dir_ + " 2>/dev/null";
    // The benchmark's threads have stopped by now.
    if (std::system(cmd.c_str()) != 0) {  // NOLINT(concurrency-mt-unsafe)
      std::fprintf(stderr, "stopping the server failed\n");
    }
  }
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;

  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string conninfo_;
  std::string dir_;
};

/// A PostgreSQL client tool from the server's bin directory (matching the server's version), or
/// from PATH.
inline std::string PgTool(const std::string& name) {
  for (const char* dir : {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return name;
}

/// Splits the password out of `conninfo` so that the child's command line (visible in ps) does
/// not carry it: returns {conninfo without password, password}.
inline std::pair<std::string, std::string> SplitPassword(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    PQfreemem(err);
    throw std::runtime_error("cannot parse the conninfo");
  }
  std::string rest;
  std::string password;
  for (auto* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string(o->keyword) == "password") {
      password = o->val;
      continue;
    }
    std::string value;
    for (const char* c = o->val; *c != '\0'; ++c) {
      if (*c == '\'' || *c == '\\') value += '\\';
      value += *c;
    }
    rest += std::string(o->keyword) + "='" + value + "' ";
  }
  PQconninfoFree(opts);
  return {rest, password};
}

/// Runs `args` (no shell) with stdout and stderr to /dev/null and `password` in PGPASSWORD;
/// returns the exit status and adds the child's CPU seconds to `cpu_seconds`.
inline int RunTool(const std::vector<std::string>& args, const std::string& password,
                   double* cpu_seconds = nullptr) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_text{"PGPASSWORD=" + password};
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("PGPASSWORD=", 0) != 0) env_text.emplace_back(*e);
  }
  std::vector<char*> envp;
  envp.reserve(env_text.size() + 1);
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid) throw std::runtime_error("wait4 failed");
  if (cpu_seconds != nullptr) {
    *cpu_seconds += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                    static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// utime + stime of process `pid` in seconds (/proc/<pid>/stat); negative once it is gone.
inline double ProcessCpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  // Fields after the command name, which is in parentheses and may contain spaces.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// The CPU the walsender streaming from `slot` spends: finds its pid (the slot's active_pid, as
/// pg_stat_replication has it) once a consumer connects and samples /proc/<pid>/stat every 5 ms
/// until `Stop`, which returns the last sample. A walsender is a process of its own per
/// connection, so its whole CPU is this consumer's. The server must be on this machine.
class WalsenderCpu {
 public:
  WalsenderCpu(const std::string& conninfo, const std::string& slot)
      : thread_([this, conninfo, slot] { Sample(conninfo, slot); }) {}
  ~WalsenderCpu() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  WalsenderCpu(const WalsenderCpu&) = delete;
  WalsenderCpu& operator=(const WalsenderCpu&) = delete;

  /// Seconds of CPU; negative when no walsender was seen.
  double Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return last_;
  }

 private:
  void Sample(const std::string& conninfo, const std::string& slot) {
    const PgConn conn(conninfo);
    std::string pid;
    while (!stop_ && pid.empty()) {
      pid = conn.Query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + slot +
                       "' AND active");
      if (pid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    while (!pid.empty()) {
      const double now = ProcessCpuSeconds(pid);
      if (now < 0) break;  // the walsender ended with its connection
      last_ = now;
      if (stop_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::atomic<bool> stop_{false};
  double last_ = -1;
  std::thread thread_;
};

/// Recreates the bench table (empty).
inline void CreateBenchTable(const PgConn& conn) {
  conn.Exec("DROP TABLE IF EXISTS bench");
  conn.Exec("CREATE TABLE bench (id bigint PRIMARY KEY, a int, b text, c timestamptz, d jsonb)");
}

/// Inserts ids 1..n, 1,000 rows per transaction (autocommit statements).
inline void InsertBenchRows(const PgConn& conn, std::int64_t n) {
  for (std::int64_t start = 1; start <= n; start += 1000) {
    const std::int64_t end = std::min(n, start + 999);
    // b: 96 hex characters + 4 = 100 bytes; d: a small object.
    conn.Exec("INSERT INTO bench SELECT g, g % 1000, repeat(md5(g::text), 3) || 'abcd', now(), " +
              std::string("jsonb_build_object('k', g % 97, 'tag', 'bench') FROM generate_series(") +
              std::to_string(start) + ", " + std::to_string(end) + ") g");
  }
}

/// Updates ids 1..n once each, 1,000 rows per transaction.
inline void UpdateBenchRows(const PgConn& conn, std::int64_t n) {
  for (std::int64_t start = 1; start <= n; start += 1000) {
    conn.Exec("UPDATE bench SET a = a + 1, c = now() WHERE id BETWEEN " + std::to_string(start) +
              " AND " + std::to_string(std::min(n, start + 999)));
  }
}

}  // namespace laredo::bench
