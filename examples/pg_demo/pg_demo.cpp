// laredo PostgreSQL demo: replicates tables into an in-memory indexed replica and prints, every
// second, what a user of the library wants to see (baseline progress, rows replicated,
// changes/s, the acknowledged LSN and the lag). Ends after LAREDO_DEMO_SECONDS (default 15) or on
// Ctrl-C.
//
// Two modes, chosen by the environment:
// - LAREDO_DEMO_CONNINFO (+ LAREDO_DEMO_TABLES=schema.table,...): your own database and tables,
//   read only. The source manages a publication "laredo_demo_pub" (needs table ownership) unless
//   LAREDO_DEMO_PUBLICATION names an existing one. The slot is TEMPORARY: nothing stays behind.
// - LAREDO_PG_CONNINFO (scripts/demo.sh sets it after starting a throwaway server): creates
//   public.demo_orders with 200,000 rows and writes orders to it from a second connection.
#include <algorithm>
#include <any>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <laredo/laredo.hpp>
#include <laredo/metrics/prometheus_observer.hpp>
#include <laredo/pg/source.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sample_writer.hpp"
#ifdef LAREDO_DEMO_HTTP
#include <laredo/http/server.hpp>
#endif

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::atomic<bool> interrupted{false};

extern "C" void OnSignal(int) { interrupted = true; }

std::string Env(const char* name) {
  // Read on the main thread before any other thread starts; nothing here calls setenv.
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  return value != nullptr ? value : "";
}

// "1234567" -> "1,234,567": the figures are easier to read while they move.
std::string Grouped(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Bytes(std::int64_t n) {
  if (n < 10'000) return std::to_string(n) + " B";
  if (n < 10'000'000) return std::to_string(n / 1024) + " kB";
  return std::to_string(n / (std::int64_t{1024} * 1024)) + " MB";
}

std::vector<laredo::TableIdentifier> ParseTables(const std::string& text) {
  std::vector<laredo::TableIdentifier> tables;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string name = text.substr(start, end - start);
    if (!name.empty()) {
      const auto dot = name.find('.');
      tables.push_back(dot == std::string::npos
                           ? laredo::Table("public", name)
                           : laredo::Table(name.substr(0, dot), name.substr(dot + 1)));
    }
    start = end + 1;
  }
  return tables;
}

class DemoObserver final : public laredo::EngineObserver {
 public:
  void OnSourceStateChanged(std::string_view, laredo::SourceState state) override {
    std::printf("  source: %s\n", std::string(laredo::ToString(state)).c_str());
  }
  void OnBaselineStarted(std::string_view, const laredo::TableIdentifier& table,
                         std::optional<std::uint64_t> estimate) override {
    std::printf("  baseline %s: started (~%s rows)\n", table.ToString().c_str(),
                estimate ? Grouped(*estimate).c_str() : "?");
  }
  void OnBaselineProgress(std::string_view, const laredo::TableIdentifier& table,
                          std::uint64_t rows, std::optional<std::uint64_t> estimate) override {
    if (estimate && *estimate > 0) {
      std::printf("  baseline %s: %s of ~%s rows (%.0f%%)\n", table.ToString().c_str(),
                  Grouped(rows).c_str(), Grouped(*estimate).c_str(),
                  100.0 * static_cast<double>(rows) / static_cast<double>(*estimate));
    } else {
      std::printf("  baseline %s: %s rows\n", table.ToString().c_str(), Grouped(rows).c_str());
    }
  }
  void OnBaselineCompleted(std::string_view, const laredo::TableIdentifier& table,
                           std::uint64_t rows) override {
    std::printf("  baseline %s: complete, %s rows\n", table.ToString().c_str(),
                Grouped(rows).c_str());
  }
  void OnChangeApplied(std::string_view, const laredo::ChangeEvent&) override { ++applied; }
  void OnRebaseline(std::string_view, std::string_view reason) override {
    std::printf("  re-baseline: %.*s\n", static_cast<int>(reason.size()), reason.data());
  }
  void OnError(std::string_view component, std::string_view message, bool will_retry) override {
    std::printf("  error in %.*s%s: %.*s\n", static_cast<int>(component.size()), component.data(),
                will_retry ? " (retrying)" : "", static_cast<int>(message.size()), message.data());
  }
  std::atomic<std::uint64_t> applied{0};
};

std::string AckedLsn(const laredo::Engine& engine) {
  const laredo::Position acked = engine.LastAckedPosition("demo");
  if (!acked.has_value()) return "-";
  return std::any_cast<laredo::pg::StreamPosition>(acked).ack_lsn.ToString();
}

std::string Lag(const laredo::Engine& engine) {
  try {
    const laredo::LagInfo lag = engine.GetLag("demo");
    std::string text = Bytes(lag.lag_bytes);
    if (lag.lag_time) text += ", " + std::to_string(lag.lag_time->count()) + " ms";
    return text;
  } catch (const std::exception&) {
    return "?";  // the lag query failed (e.g. while reconnecting); the next second tries again
  }
}

int Run() {
  const int seconds = Env("LAREDO_DEMO_SECONDS").empty()
                          ? 15
                          : std::max(1, std::atoi(Env("LAREDO_DEMO_SECONDS").c_str()));
  std::string conninfo = Env("LAREDO_DEMO_CONNINFO");
  const bool sample = conninfo.empty();
  std::vector<laredo::TableIdentifier> tables;
  laredo::pg::SourceOptions source_options{.slot_mode = laredo::pg::SlotMode::Ephemeral,
                                           .publication_name = "laredo_demo_pub"};
  constexpr std::int64_t kSampleRows = 200'000;
  if (sample) {
    conninfo = Env("LAREDO_PG_CONNINFO");
    if (conninfo.empty()) {
      std::fprintf(stderr,
                   "usage: LAREDO_DEMO_CONNINFO='host=... dbname=...' "
                   "LAREDO_DEMO_TABLES=schema.table,... %s\n"
                   "   or: bash scripts/demo.sh (starts a throwaway PostgreSQL)\n",
                   "laredo_pg_demo");
      return 2;
    }
    std::printf("laredo demo: creating public.demo_orders (%s rows) on a throwaway PostgreSQL\n",
                Grouped(kSampleRows).c_str());
    laredo_demo::CreateSampleTable(conninfo, kSampleRows);
    tables.push_back(laredo::Table("public", "demo_orders"));
  } else {
    tables = ParseTables(Env("LAREDO_DEMO_TABLES"));
    if (tables.empty()) {
      std::fprintf(stderr, "LAREDO_DEMO_TABLES is empty (e.g. public.orders,public.customers)\n");
      return 2;
    }
    if (!Env("LAREDO_DEMO_PUBLICATION").empty()) {
      source_options.publication_name = Env("LAREDO_DEMO_PUBLICATION");
      source_options.manage_publication = false;
    }
  }
  source_options.conninfo = conninfo;

  auto observer = std::make_shared<DemoObserver>();
  auto metrics = std::make_shared<laredo::metrics::PrometheusObserver>();
  laredo::EngineOptions options;
  options.observers = {observer, metrics};
  options.lag_interval = 1s;
  options.ack_interval = 200ms;
  options.baseline_progress_rows = 50'000;
  laredo::Engine engine(options);
  engine.AddSource("demo", std::make_shared<laredo::pg::Source>(source_options));
  std::vector<std::shared_ptr<laredo::memory::IndexedTarget>> replicas;
  for (const auto& table : tables) {
    replicas.push_back(std::make_shared<laredo::memory::IndexedTarget>());
    engine.AddPipeline("demo", table, replicas.back());
  }
  auto replicated_rows = [&] {
    std::size_t n = 0;
    for (const auto& r : replicas) n += r->Count();
    return n;
  };

  std::string names;
  for (const auto& t : tables) names += (names.empty() ? "" : ", ") + t.ToString();
  std::printf("laredo demo: replicating %s for %d s (Ctrl-C ends it sooner)\n", names.c_str(),
              seconds);
  const auto start = Clock::now();
  engine.Start();
#ifdef LAREDO_DEMO_HTTP
  // The operations endpoint on 127.0.0.1: port 9464 (Prometheus' exporter default for such
  // programs), or LAREDO_DEMO_HTTP_PORT; a free one if it is taken.
  std::optional<laredo::http::Server> http;
  {
    laredo::http::ServerOptions http_options;
    http_options.metrics = metrics->GetRegistry();
    const std::string port = Env("LAREDO_DEMO_HTTP_PORT");
    http_options.port = static_cast<std::uint16_t>(port.empty() ? 9464 : std::stoi(port));
    try {
      http.emplace(engine, http_options);
    } catch (const laredo::Error&) {
      http_options.port = 0;
      http.emplace(engine, http_options);
    }
    std::printf("  metrics and status: http://127.0.0.1:%u/metrics  /status  /health/ready\n",
                static_cast<unsigned>(http->Port()));
  }
#endif

  std::unique_ptr<laredo_demo::SampleWriter> writer;
  std::uint64_t last_applied = 0;
  auto last_tick = Clock::now();
  bool header = false;
  for (int tick = 1; tick <= seconds * 10 && !interrupted; ++tick) {
    std::this_thread::sleep_for(100ms);  // checks Ctrl-C often, prints once a second
    if (auto error = engine.SourceError("demo")) {
      std::fprintf(stderr, "the source failed: %s\n", error->c_str());
      return 1;
    }
    // The writer starts once the baseline is in, so the replica's row count visibly moves.
    if (sample && !writer && engine.AwaitReady(0ms)) {
      std::printf("  ready after %.1f s; writing orders from a second connection\n",
                  std::chrono::duration<double>(Clock::now() - start).count());
      writer = std::make_unique<laredo_demo::SampleWriter>(conninfo, kSampleRows + 1);
    }
    if (tick % 10 != 0) continue;
    if (!header) {
      std::printf("  %5s %12s %10s %14s  %s\n", "time", "rows", "changes/s", "acked LSN", "lag");
      header = true;
    }
    const auto now = Clock::now();
    const std::uint64_t applied = observer->applied.load();
    const double per_second = static_cast<double>(applied - last_applied) /
                              std::chrono::duration<double>(now - last_tick).count();
    std::printf("  %4ds %12s %10s %14s  %s\n", tick / 10, Grouped(replicated_rows()).c_str(),
                Grouped(static_cast<std::uint64_t>(per_second)).c_str(), AckedLsn(engine).c_str(),
                Lag(engine).c_str());
    std::fflush(stdout);
    last_applied = applied;
    last_tick = now;
  }

  if (writer) {
    // Stop writing, let the replica catch up and compare it with the server.
    writer->Stop();
    laredo_demo::DemoConnection check(conninfo);
    const std::string server_rows = check.Query("SELECT count(*) FROM public.demo_orders");
    const auto deadline = Clock::now() + 10s;
    while (std::to_string(replicated_rows()) != server_rows && Clock::now() < deadline &&
           !interrupted) {
      std::this_thread::sleep_for(20ms);
    }
    const bool in_sync = std::to_string(replicated_rows()) == server_rows;
    std::printf("writer: %s transactions; server %s rows, replica %s rows: %s\n",
                Grouped(writer->transactions()).c_str(), Grouped(std::stoull(server_rows)).c_str(),
                Grouped(replicated_rows()).c_str(), in_sync ? "in sync" : "NOT in sync yet");
    if (auto row = replicas.front()->Get({laredo::Value(std::int64_t{1})})) {
      std::printf("replica lookup id=1: %s\n", row->ToString().c_str());
    }
  }
#ifdef LAREDO_DEMO_HTTP
  http.reset();  // before the engine it reads
#endif
  engine.Stop();
  std::printf("stopped: %s changes applied, final ACK %s, %s rows replicated\n",
              Grouped(observer->applied.load()).c_str(), AckedLsn(engine).c_str(),
              Grouped(replicated_rows()).c_str());
  return 0;
}

}  // namespace

int main() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  try {
    return Run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "laredo demo: %s\n", e.what());
    return 1;
  }
}
