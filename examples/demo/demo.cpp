// laredo demo: an in-memory source feeds the engine, which keeps an indexed replica of a table;
// a writer thread produces changes while the demo prints what a user wants to see. Ends by
// itself after LAREDO_DEMO_SECONDS (default 10) or on Ctrl-C.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <laredo/laredo.hpp>
#include <laredo/testsource/test_source.hpp>
#include <random>
#include <thread>

namespace {

std::atomic<bool> interrupted{false};

extern "C" void OnSignal(int) { interrupted = true; }

class ProgressPrinter : public laredo::EngineObserver {
 public:
  void OnBaselineProgress(std::string_view, const laredo::TableIdentifier& table,
                          std::uint64_t rows, std::optional<std::uint64_t>) override {
    std::printf("  baseline %s: %llu rows read\n", table.ToString().c_str(),
                static_cast<unsigned long long>(rows));
  }
  void OnBaselineCompleted(std::string_view pipeline, const laredo::TableIdentifier&,
                           std::uint64_t rows) override {
    std::printf("  baseline of pipeline %.*s complete: %llu rows\n",
                static_cast<int>(pipeline.size()), pipeline.data(),
                static_cast<unsigned long long>(rows));
  }
  void OnChangeApplied(std::string_view, const laredo::ChangeEvent&) override { ++applied; }
  std::atomic<std::uint64_t> applied{0};
};

}  // namespace

int main() {
  using namespace std::chrono_literals;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  const char* seconds_env = std::getenv("LAREDO_DEMO_SECONDS");
  const int seconds = seconds_env ? std::atoi(seconds_env) : 10;

  const auto users = laredo::Table("public", "users");
  auto source = std::make_shared<laredo::testsource::TestSource>();
  source->SetSchema(users, {
                               {.name = "id",
                                .type = "bigint",
                                .nullable = false,
                                .primary_key = true,
                                .primary_key_ordinal = 1},
                               {.name = "name", .type = "text"},
                               {.name = "score", .type = "integer"},
                           });
  auto names = laredo::ColumnNames::Make({"id", "name", "score"});
  for (std::int64_t id = 1; id <= 200'000; ++id) {
    source->AddRow(
        users, laredo::Row(names, {laredo::Value(id), laredo::Value("user" + std::to_string(id)),
                                   laredo::Value(id % 100)}));
  }

  auto replica =
      std::make_shared<laredo::memory::IndexedTarget>(laredo::memory::IndexedTargetOptions{
          .indexes = {{.name = "by_score", .columns = {"score"}, .unique = false}}});
  auto printer = std::make_shared<ProgressPrinter>();
  laredo::EngineOptions options;
  options.observers = {printer};
  options.ack_interval = 200ms;
  options.baseline_progress_rows = 50'000;
  laredo::Engine engine(options);
  engine.AddSource("demo", source);
  engine.AddPipeline("demo", users, replica);

  std::printf("laredo demo: replicating %s from an in-memory source\n", users.ToString().c_str());
  engine.Start();
  if (!engine.AwaitReady(60s)) {
    std::fprintf(stderr, "engine did not become ready\n");
    return 1;
  }
  std::printf("  replica holds %zu rows\n", replica->Count());

  std::jthread writer([&](std::stop_token stop) {
    std::mt19937_64 rng(7);
    std::int64_t next_id = 200'001;
    while (!stop.stop_requested()) {
      for (int i = 0; i < 500; ++i) {
        const auto id = static_cast<std::int64_t>(rng() % 200'000) + 1;
        switch (rng() % 4) {
          case 0:
            source->EmitInsert(users, laredo::Row(names, {laredo::Value(next_id),
                                                          laredo::Value("new"), laredo::Value(0)}));
            ++next_id;
            break;
          case 1:
            source->EmitDelete(users, laredo::Row{{"id", id}});
            break;
          default:
            source->EmitUpdate(
                users,
                laredo::Row(names, {laredo::Value(id), laredo::Value("updated"),
                                    laredo::Value(static_cast<std::int64_t>(rng() % 100))}),
                laredo::Row{{"id", id}});
        }
      }
      std::this_thread::sleep_for(5ms);  // pacing of the demo's writer
    }
  });

  std::uint64_t last_applied = 0;
  for (int s = 0; s < seconds && !interrupted; ++s) {
    std::this_thread::sleep_for(1s);  // reporting interval
    const auto applied = printer->applied.load();
    std::printf(
        "  %2ds  rows %8zu  changes/s %8llu  acked %-10s  lag %lld events  score=42: %zu rows\n",
        s + 1, replica->Count(), static_cast<unsigned long long>(applied - last_applied),
        engine.LastAckedPositionString("demo").c_str(),
        static_cast<long long>(engine.GetLag("demo").lag_bytes),
        replica->LookupAll("by_score", {laredo::Value(42)}).size());
    last_applied = applied;
  }
  writer.request_stop();
  writer.join();
  engine.Stop();
  std::printf("stopped: %llu changes applied, final ACK %s, %zu rows\n",
              static_cast<unsigned long long>(printer->applied.load()),
              engine.LastAckedPositionString("demo").c_str(), replica->Count());
  return 0;
}
