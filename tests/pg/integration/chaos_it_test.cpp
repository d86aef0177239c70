// A seeded chaos run against the real server. A writer commits numbered transactions of mixed
// sizes (one row to 20,000 rows) on two tables, with TOASTed values, key changes, deletes,
// truncates and ALTER TABLE (add, rename, drop) between transactions. A random schedule injects
// walsender terminations, server crashes (pg_ctl restart -m immediate), SIGKILL of the consuming
// process and its restart (stateful slot, a durable journal file as the target), stalls of the
// target longer than wal_sender_timeout (backpressure), pauses, ResetSource, reloads of one
// table while streaming (so every other fault may land inside one), and slot invalidation
// (max_slot_wal_keep_size while the consumer stalls). After the writer stops, the
// journal must equal SELECT * of every table. With even seeds the consumer's walsender streams
// large transactions while they are in progress (logical_decoding_work_mem = 64kB), so the
// faults also land inside streamed transactions.
//
// LAREDO_CHAOS_SEEDS=N runs N seeds (default 2: one of each kind), LAREDO_CHAOS_SEED=S one; a
// failure prints its seed, its schedule and what the consumer's engine last said of itself.
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

// One line per row value: name, kind, payload (ints and text round-trip exactly).
std::string Encode(const Row& row) {
  std::string out;
  for (const auto& [name, value] : row) {
    out += std::string(name) + "\x1f" + std::to_string(static_cast<int>(value.kind())) + "\x1f";
    if (const auto* i = value.IntIf()) {
      out += std::to_string(*i);
    } else if (const auto* s = value.StringIf()) {
      out += *s;
    } else if (!value.IsNull()) {
      out += value.ToString();
    }
    out += "\x1e";
  }
  return out;
}

Row Decode(const std::string& text) {
  Row row;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find('\x1e', at);
    const std::string field = text.substr(at, end - at);
    at = end + 1;
    const auto a = field.find('\x1f');
    const auto b = field.find('\x1f', a + 1);
    const auto kind = static_cast<Value::Kind>(std::stoi(field.substr(a + 1, b - a - 1)));
    const std::string payload = field.substr(b + 1);
    Value v;
    if (kind == Value::Kind::Null) {
      v = Value();
    } else if (kind == Value::Kind::Int) {
      v = Value(static_cast<std::int64_t>(std::stoll(payload)));
    } else {
      v = Value::FromString(kind, payload);
    }
    row[field.substr(0, a)] = std::move(v);
  }
  return row;
}

using TableRows = std::map<std::string, std::map<std::string, std::string>>;  // table -> key -> row

// Replays a journal file: per table the rows (encoded), whether its last baseline completed, and
// the checkpoint of a reload in progress.
struct Replayed {
  TableRows rows;
  std::map<std::string, bool> complete;
  std::map<std::string, std::string> checkpoint;
};
Replayed Replay(const std::string& path) {
  Replayed r;
  r.rows["a"];  // both tables, also before their first line
  r.rows["b"];
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string table, op, key, old_key, row;
    std::getline(fields, table, '\t');
    std::getline(fields, op, '\t');
    std::getline(fields, key, '\t');
    std::getline(fields, old_key, '\t');
    std::getline(fields, row);
    auto& rows = r.rows[table];
    if (op == "B" || op == "T") rows.clear();
    if (op == "B") r.complete[table] = false;
    if (op == "C") r.complete[table] = true;
    if (op == "B" || op == "C") r.checkpoint.erase(table);
    if (op == "K") r.checkpoint[table] = row;  // the text, where a row would be
    if (op == "U" || op == "D") rows.erase(old_key);
    if (op == "R" || op == "I" || op == "U") rows[key] = row;
  }
  return r;
}

// The consumer's target: appends every write to a file before returning, so it is durable once
// applied (a write() survives the death of the process). It answers every schema change with a
// re-baseline, and reads its rows back so the engine can fill in unchanged TOAST values. It keeps
// reload checkpoints in the same file, so a consumer killed during a reload continues it. While
// `stall_flag` exists it blocks, which is how the test applies backpressure.
class FileJournal final : public SyncTarget {
 public:
  FileJournal(std::string path, std::string stall_flag)
      : path_(std::move(path)), stall_(std::move(stall_flag)) {
    auto replayed = Replay(path_);
    complete_ = replayed.complete;
    checkpoint_ = replayed.checkpoint;
    for (auto& [table, rows] : replayed.rows) {
      for (auto& [key, row] : rows) rows_[table][key] = Decode(row);
    }
    out_.open(path_, std::ios::app);
  }
  void OnInit(const TableIdentifier&, const std::vector<ColumnDefinition>&) override {}
  void OnBaselineBegin(const TableIdentifier& t, const std::vector<ColumnDefinition>&) override {
    Write(t, "B", "", "", nullptr);
    rows_[t.table].clear();
    complete_[t.table] = false;
    checkpoint_.erase(t.table);
  }
  void OnBaselineRow(const TableIdentifier& t, const Row& row) override { Put(t, "R", row, ""); }
  void OnBaselineComplete(const TableIdentifier& t) override {
    Write(t, "C", "", "", nullptr);
    complete_[t.table] = true;
    checkpoint_.erase(t.table);
  }
  void OnInsert(const TableIdentifier& t, const Row& row) override { Put(t, "I", row, ""); }
  void OnUpdate(const TableIdentifier& t, const Row& row, const Row& identity) override {
    const std::string old_key = identity.at("id").ToString();
    rows_[t.table].erase(old_key);
    Put(t, "U", row, old_key);
  }
  void OnDelete(const TableIdentifier& t, const Row& identity) override {
    const std::string key = identity.at("id").ToString();
    Write(t, "D", "", key, nullptr);
    rows_[t.table].erase(key);
  }
  void OnTruncate(const TableIdentifier& t) override {
    Write(t, "T", "", "", nullptr);
    rows_[t.table].clear();
  }
  bool IsDurable() override { return true; }
  // Every table whole, or in the middle of a reload it holds a checkpoint of.
  bool KeepsStateAcrossRestarts() override {
    return complete_.size() == 2 && std::all_of(complete_.begin(), complete_.end(), [&](auto& c) {
             return c.second || checkpoint_.contains(c.first);
           });
  }
  void OnReloadCheckpoint(const TableIdentifier& t, const std::string& checkpoint) override {
    Write(t, "K", "", "", nullptr, &checkpoint);
    checkpoint_[t.table] = checkpoint;
  }
  std::optional<std::string> ReloadCheckpoint(const TableIdentifier& t) override {
    const auto it = checkpoint_.find(t.table);
    if (it == checkpoint_.end()) return std::nullopt;
    return it->second;
  }
  bool CanReadRows() override { return true; }
  std::optional<Row> ReadRow(const TableIdentifier& t, const Row& identity) override {
    auto& rows = rows_[t.table];
    auto it = rows.find(identity.at("id").ToString());
    if (it == rows.end()) return std::nullopt;
    return it->second;
  }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier&, const std::vector<ColumnDefinition>&,
                                      const std::vector<ColumnDefinition>&) override {
    return {SchemaChangeResponse::Action::ReBaseline, "journal reloads on any schema change"};
  }
  void OnClose(const TableIdentifier&) override {}

 private:
  void Put(const TableIdentifier& t, const char* op, const Row& row, const std::string& old_key) {
    for (const auto& [name, value] : row) {
      if (value.IsUnchanged()) std::abort();  // the engine must have filled it in
    }
    const std::string key = row.at("id").ToString();
    Write(t, op, key, old_key, &row);
    rows_[t.table][key] = row;
  }
  void Write(const TableIdentifier& t, const char* op, const std::string& key,
             const std::string& old_key, const Row* row, const std::string* text = nullptr) {
    while (std::filesystem::exists(stall_)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the injected stall
    }
    out_ << t.table << '\t' << op << '\t' << key << '\t' << old_key << '\t'
         << (row != nullptr ? Encode(*row) : (text != nullptr ? *text : std::string())) << '\n';
    out_.flush();
  }

  std::string path_;
  std::string stall_;
  std::ofstream out_;
  std::map<std::string, std::map<std::string, Row>> rows_;
  std::map<std::string, bool> complete_;
  std::map<std::string, std::string> checkpoint_;  // JSON on one line: no tab, no newline
};

// In the consumer: appends a line to `path` for each reload of one table a pipeline finished
// (consumers are killed often; a line written when it happens outlives them).
class ReloadsNoted final : public EngineObserver {
 public:
  explicit ReloadsNoted(std::string path) : path_(std::move(path)) {}
  void SetSource(std::shared_ptr<Source> source) { source_ = std::move(source); }
  void OnBaselineCompleted(std::string_view, const TableIdentifier&, std::uint64_t) override {
    std::lock_guard lk(mu_);
    const auto stats = source_ ? source_->ReloadStatistics() : ReloadStats{};
    if (stats.completed <= noted_) return;  // a baseline, not a reload
    std::ofstream out(path_, std::ios::app);
    for (; noted_ < stats.completed; ++noted_) out << "completed\n";
    // Reloads a reconnect continued from their last chunk, and reloads a restarted consumer
    // continued from its checkpoint, among those that completed.
    for (; continued_ < stats.continued; ++continued_) out << "continued\n";
    for (; resumed_ < stats.resumed; ++resumed_) out << "resumed\n";
  }

 private:
  const std::string path_;
  std::mutex mu_;
  std::shared_ptr<Source> source_;
  std::uint64_t noted_ = 0;
  std::uint64_t continued_ = 0;
  std::uint64_t resumed_ = 0;
};

class Chaos : public PgTest {
 protected:
  bool force_streaming_ = false;  // this seed's consumers get logical_decoding_work_mem = 64kB
  static constexpr int kPause = 1;
  static constexpr int kResume = 0;
  static constexpr int kReloadA = 2;  // Engine::ReloadTable of table a, or b
  static constexpr int kReloadB = 3;
  static void Command(pid_t consumer, int command) {
    ::sigqueue(consumer, SIGRTMIN, sigval{.sival_int = command});
  }
  pid_t StartConsumer(const std::string& journal, const std::string& stall) {
    int ready[2];
    if (::pipe(ready) != 0) std::abort();
    const pid_t child = ::fork();
    if (child != 0) {
      // Signals sent before the child blocks them would kill it: wait for its word.
      ::close(ready[1]);
      char byte = 0;
      if (::read(ready[0], &byte, 1) != 1) ADD_FAILURE() << "the consumer did not start";
      ::close(ready[0]);
      return child;
    }
    ::close(ready[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    // SIGRTMIN carries a pause, a resume or a reload (its value), SIGUSR2 asks for ResetSource:
    // taken by
    // sigtimedwait below, so they are blocked in every thread (the engine's inherit the mask).
    // Real-time signals queue in order; two of one plain signal pending at once would be one.
    sigset_t commands;
    sigemptyset(&commands);
    sigaddset(&commands, SIGRTMIN);
    sigaddset(&commands, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &commands, nullptr);
    if (::write(ready[1], "r", 1) != 1) ::_exit(4);
    ::close(ready[1]);
    try {
      if (std::getenv("LAREDO_CHAOS_LOG") == nullptr) laredo::SetLogger(nullptr);
      EngineOptions options;
      options.ack_interval = 20ms;
      options.source_max_retries = 100'000;
      options.source_backoff = {.initial = 50ms, .max = 500ms, .multiplier = 2.0};
      auto noted = std::make_shared<ReloadsNoted>(journal + ".reloads");
      options.observers = {noted};
      Engine engine(options);
      auto source_options = Options(SlotMode::Stateful);
      // Even seeds make the walsender stream every transaction of more than a few hundred rows
      // while it is in progress (the source buffers it until its commit).
      source_options.conninfo = ConninfoWithSetting(
          force_streaming_ ? "wal_sender_timeout=1000 -c logical_decoding_work_mem=64kB"
                           : "wal_sender_timeout=1000");
      source_options.reload_chunk_rows = 500;  // a reload spans many chunks, and faults
      auto source = std::make_shared<Source>(source_options);
      noted->SetSource(source);
      engine.AddSource("pg", source);
      auto target = std::make_shared<FileJournal>(journal, stall);
      PipelineOptions pipeline{.buffer_capacity = 64};
      engine.AddPipeline("pg", T("a"), target, pipeline);
      engine.AddPipeline("pg", T("b"), target, pipeline);
      engine.Start();
      // Between commands, what the engine says of itself goes to <journal>.status, which a
      // failing run prints: where a consumer that stopped making progress is stuck.
      const auto write_status = [&] {
        std::ostringstream out;
        for (const auto& s : engine.Sources()) {
          out << "source " << s.id << " " << ToString(s.state) << " acked " << s.last_acked_position
              << " error " << s.error.value_or("-") << "\n";
        }
        for (const auto& p : engine.Pipelines()) {
          out << "pipeline " << p.id << " " << ToString(p.state) << " baseline_rows "
              << p.baseline_rows << " applied " << p.changes_applied << " buffer " << p.buffer_depth
              << " error " << (p.last_error.empty() ? "-" : p.last_error) << "\n";
        }
        out << "not ready: " << engine.NotReadyReason() << "\n";
        const auto reloads = source->ReloadStatistics();
        out << "reloads requested " << reloads.requested << " completed " << reloads.completed
            << " restarted " << reloads.restarted << " continued " << reloads.continued << "\n";
        std::ofstream(journal + ".status", std::ios::trunc) << out.str();
      };
      for (int signal = 0;;) {
        const timespec every{.tv_sec = 0, .tv_nsec = 100'000'000};
        siginfo_t info{};
        signal = ::sigtimedwait(&commands, &info, &every);
        if (signal < 0) {
          write_status();
          continue;
        }
        if (signal == SIGRTMIN) {
          const int command = info.si_value.sival_int;
          if (command == kPause) {
            engine.Pause("pg");
          } else if (command == kResume) {
            engine.Resume("pg");
          } else {
            try {
              engine.ReloadTable("pg", T(command == kReloadA ? "a" : "b"));
            } catch (const ConfigError&) {
              // Before Init (the source has no tables yet): the schedule goes on.
            }
          }
        } else {
          try {
            source->ResetSource(false);
          } catch (const std::exception&) {
            // Not in use yet, or timed out: the schedule goes on either way.
          }
        }
      }
    } catch (...) {
      ::_exit(3);
    }
  }
  /// Stalls the consumer and lets the server invalidate its slot (bounded: the slot may be
  /// between consumers).
  void InvalidateSlot(const std::string& stall) {
    std::ofstream(stall).put('x');
    Exec("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
    Exec("SELECT pg_reload_conf()");
    Eventually(
        [&] {
          Exec("INSERT INTO " + Q("b") +
               " SELECT g, 'inv' FROM generate_series(900000, 900010) g "
               "ON CONFLICT (id) DO UPDATE SET w = excluded.w || 'i'");
          Exec("SELECT pg_switch_wal()");
          Exec("CHECKPOINT");
          return Scalar("SELECT wal_status FROM pg_replication_slots WHERE slot_name = '" + name_ +
                        "'") == "lost";
        },
        20s);
    Exec("ALTER SYSTEM RESET max_slot_wal_keep_size");
    Exec("SELECT pg_reload_conf()");
    std::filesystem::remove(stall);
  }
  static void Kill(pid_t child) {
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
  }
  void RestartServer() {
    const char* dir = std::getenv("LAREDO_PG_DIR");
    ASSERT_NE(dir, nullptr) << "LAREDO_PG_DIR is not set";
    ASSERT_EQ(std::system((std::string(LAREDO_PG_SERVER_SCRIPT) + " crash-restart '" + dir +
                           "' 2>/dev/null")
                              .c_str()),
              0);
    ASSERT_TRUE(Eventually(
        [&] {
          try {
            admin_ = PgConnection::Connect(conninfo_, ConnectionKind::Normal, "laredo test");
            return true;
          } catch (const std::exception&) {
            return false;
          }
        },
        30s));
  }
  /// Runs a statement that needs an exclusive lock. A paused or stalled consumer in the middle of
  /// a baseline holds a share lock on the table it copies (as pg_dump would), so the statement
  /// waits at most 2 s and is then skipped; false when it was.
  bool ExecExclusive(const std::string& sql) {
    Exec("SET lock_timeout = '2s'");
    bool done = true;
    try {
      Exec(sql);
    } catch (const std::exception&) {
      done = false;
    }
    Exec("SET lock_timeout = 0");
    return done;
  }
  TableRows Expected(const std::vector<std::string>& tables) {
    TableRows out;
    for (const auto& t : tables) {
      auto& rows = out[t];  // present when empty too, as in a replayed journal
      for (const auto& [key, row] : ReadTable(t)) rows[key] = Encode(row);
    }
    return out;
  }
};

TEST_F(Chaos, RandomFaultsDuringAMixedWorkloadLoseNothing) {
  std::vector<std::uint64_t> seeds;
  if (const char* one = std::getenv("LAREDO_CHAOS_SEED")) {
    seeds.push_back(std::stoull(one));
  } else {
    const int count =
        std::getenv("LAREDO_CHAOS_SEEDS") ? std::atoi(std::getenv("LAREDO_CHAOS_SEEDS")) : 2;
    for (int i = 1; i <= count; ++i) seeds.push_back(static_cast<std::uint64_t>(i) * 104729);
  }
  int faults = 0;
  int reloads = 0;            // reload requests scheduled
  int reloads_completed = 0;  // by the consumers alive at the end of each schedule
  int reloads_continued = 0;  // of those, continued by a reconnect
  int reloads_resumed = 0;    // of those, continued by a restarted consumer
  int transactions = 0;
  std::uint64_t rows_checked = 0;
  for (const auto seed : seeds) {
    std::mt19937_64 rng(seed);
    const auto pick = [&](int n) {
      return static_cast<int>(rng() % static_cast<std::uint64_t>(n));
    };
    std::string trace = seed % 2 == 0 ? " (streamed transactions)" : "";
    force_streaming_ = seed % 2 == 0;
    Cleanup();
    Exec("CREATE SCHEMA " + name_);
    Exec("CREATE TABLE " + Q("a") + " (id bigint PRIMARY KEY, v int, body text)");
    Exec("CREATE TABLE " + Q("b") + " (id bigint PRIMARY KEY, w text)");
    Exec("INSERT INTO " + Q("a") + " SELECT g, 0, 'small' FROM generate_series(1, 500) g");
    Exec("INSERT INTO " + Q("b") + " SELECT g, 'w' FROM generate_series(1, 200) g");
    const std::string base = ::testing::TempDir() + name_ + "_" + std::to_string(seed) + "_" +
                             std::to_string(::getpid());
    const std::string journal = base + ".journal";
    const std::string stall = base + ".stall";
    std::filesystem::remove(journal);
    std::filesystem::remove(journal + ".reloads");
    std::filesystem::remove(stall);
    pid_t consumer = StartConsumer(journal, stall);
    bool paused = false;
    std::int64_t next_id = 1'000;
    std::vector<std::string> extra;  // added columns of a
    int extra_n = 0;
    const int steps = 25 + pick(15);
    for (int step = 0; step < steps && !HasFatalFailure(); ++step) {
      const int roll = pick(100);
      const std::string table = pick(3) == 0 ? "b" : "a";
      const std::string q = Q(table);
      if (roll < 40) {
        const int size =
            pick(10) == 0 ? 500 + pick(4'500) : (pick(60) == 0 ? 100'000 : 1 + pick(50));
        trace += " tx" + std::to_string(size) + table;
        const std::string ids = "generate_series(" + std::to_string(next_id) + ", " +
                                std::to_string(next_id + size - 1) + ") g";
        next_id += size;
        if (table == "a") {
          // Some bodies are large and random enough to be TOASTed out of line.
          Exec("INSERT INTO " + q +
               " (id, v, body) SELECT g, 1, CASE WHEN g % 7 = 0 THEN (SELECT "
               "string_agg(md5(random()::text || i || g), '') FROM generate_series(1, 120) s(i)) "
               "ELSE 'b' "
               "END FROM " +
               ids);
        } else {
          Exec("INSERT INTO " + q + " SELECT g, 'w' || g FROM " + ids);
        }
        ++transactions;
      } else if (roll < 55) {
        trace += " upd" + table;
        // On a only v changes: TOASTed bodies arrive as unchanged values.
        Exec("UPDATE " + q + (table == "a" ? " SET v = v + 1" : " SET w = w || 'u'") +
             " WHERE id % " + std::to_string(3 + pick(20)) + " = 0");
        ++transactions;
      } else if (roll < 60) {
        trace += " key" + table;
        Exec("UPDATE " + q + " SET id = id + 10000000 WHERE id = (SELECT min(id) FROM " + q + ")");
        ++transactions;
      } else if (roll < 67) {
        trace += " del" + table;
        Exec("DELETE FROM " + q + " WHERE id % " + std::to_string(5 + pick(30)) + " = 1");
        ++transactions;
      } else if (roll < 69) {
        trace += ExecExclusive("TRUNCATE " + q) ? " trunc" + table : " trunc-blocked";
        ++transactions;
      } else if (roll < 75) {
        // ALTER TABLE a: add (with a default), rename or drop an added column, then a change on
        // a, as any real workload would follow it with.
        if (extra.empty() || pick(2) == 0) {
          const std::string column = "c" + std::to_string(++extra_n);
          if (ExecExclusive("ALTER TABLE " + Q("a") + " ADD COLUMN " + column + " int DEFAULT " +
                            std::to_string(extra_n))) {
            extra.push_back(column);
            trace += " add-" + column;
          } else {
            trace += " ddl-blocked";
          }
        } else if (pick(2) == 0) {
          auto& column = extra[static_cast<std::size_t>(pick(static_cast<int>(extra.size())))];
          const std::string renamed = "r" + std::to_string(++extra_n);
          if (ExecExclusive("ALTER TABLE " + Q("a") + " RENAME COLUMN " + column + " TO " +
                            renamed)) {
            trace += " rename-" + column;
            column = renamed;
          } else {
            trace += " ddl-blocked";
          }
        } else {
          const auto at = static_cast<std::size_t>(pick(static_cast<int>(extra.size())));
          if (ExecExclusive("ALTER TABLE " + Q("a") + " DROP COLUMN " + extra[at])) {
            trace += " drop-" + extra[at];
            extra.erase(extra.begin() + static_cast<std::ptrdiff_t>(at));
          } else {
            trace += " ddl-blocked";
          }
        }
        Exec("UPDATE " + Q("a") + " SET v = v + 1 WHERE id = (SELECT max(id) FROM " + Q("a") + ")");
      } else if (roll < 79) {
        ++faults;
        trace += " kill-walsender";
        KillWalsender();
      } else if (roll < 82) {
        ++faults;
        trace += " server-crash";
        RestartServer();
      } else if (roll < 88) {
        ++faults;
        trace += " consumer-kill";
        Kill(consumer);
        consumer = StartConsumer(journal, stall);
        paused = false;
      } else if (roll < 91) {
        ++faults;
        paused = !paused;
        trace += paused ? " pause" : " resume";
        Command(consumer, paused ? kPause : kResume);
      } else if (roll < 93) {
        ++faults;
        trace += " reset-source";
        ::kill(consumer, SIGUSR2);
      } else if (roll < 95) {
        ++faults;
        trace += " invalidate";
        InvalidateSlot(stall);
      } else if (roll < 97) {
        ++faults;
        const bool a = pick(2) == 0;
        trace += a ? " reload-a" : " reload-b";
        ++reloads;
        Command(consumer, a ? kReloadA : kReloadB);
      } else {
        ++faults;
        trace += " stall";
        std::ofstream(stall).put('x');
        std::this_thread::sleep_for(std::chrono::milliseconds(1'200 + pick(1'500)));  // the fault
        std::filesystem::remove(stall);
      }
    }
    if (paused) Command(consumer, kResume);
    // The writer stops; one change per table so the last schema change is seen, then converge.
    Exec("UPDATE " + Q("a") + " SET v = v + 1 WHERE id = (SELECT max(id) FROM " + Q("a") + ")");
    Exec("INSERT INTO " + Q("b") + " VALUES (" + std::to_string(next_id++) + ", 'end')");
    TableRows expected;
    const bool converged = Eventually(
        [&] {
          expected = Expected({"a", "b"});
          return Replay(journal).rows == expected;
        },
        120s);
    int exit_status = 0;
    const bool consumer_exited = ::waitpid(consumer, &exit_status, WNOHANG) == consumer;
    if (!consumer_exited) Kill(consumer);
    if (!converged) {
      const auto got = Replay(journal).rows;
      std::string diff =
          consumer_exited ? fmt::format("\n  the consumer had exited (status {:#x})", exit_status)
                          : std::string();
      int shown = 0;
      for (const auto& t : {"a", "b"}) {
        const auto& e = expected[t];
        const auto g = got.count(t) ? got.at(t) : std::map<std::string, std::string>{};
        for (const auto& [key, row] : e) {
          if (shown < 5 && (!g.count(key) || g.at(key) != row)) {
            diff += std::string("\n  ") + t + " " + key + ": expected " + Decode(row).ToString() +
                    ", journal " + (g.count(key) ? Decode(g.at(key)).ToString() : "none");
            ++shown;
          }
        }
        diff += std::string("\n  ") + t + ": " + std::to_string(e.size()) + " rows expected, " +
                std::to_string(g.size()) + " in the journal";
      }
      std::ostringstream status;
      status << std::ifstream(journal + ".status").rdbuf();
      ADD_FAILURE() << "seed " << seed << " (replay: LAREDO_CHAOS_SEED=" << seed
                    << "), schedule:" << trace << diff << "\nconsumer status:\n"
                    << status.str();
      break;
    }
    for (const auto& [t, rows] : expected) rows_checked += rows.size();
    {
      std::ifstream noted(journal + ".reloads");
      for (std::string line; std::getline(noted, line);) {
        ++(line == "continued" ? reloads_continued
                               : (line == "resumed" ? reloads_resumed : reloads_completed));
      }
    }
    std::filesystem::remove(journal);
    std::filesystem::remove(journal + ".reloads");
    std::filesystem::remove(journal + ".status");
  }
  std::printf(
      "chaos: %zu schedules, %d faults (%d reloads asked for, %d seen completed, %d continued "
      "after a reconnect, %d after a restart), %d transactions, %llu rows checked, %s\n",
      seeds.size(), faults, reloads, reloads_completed, reloads_continued, reloads_resumed,
      transactions, static_cast<unsigned long long>(rows_checked),
      HasFailure() ? "LOST CHANGES" : "0 lost");
}

}  // namespace
}  // namespace laredo::pg::testing
