// What we render must pass Prometheus's own checker (`promtool check metrics`: parse + lint).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/test_util.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/metrics/prometheus_observer.hpp"
#include "metrics/external_tools.hpp"

namespace laredo::testing {
namespace {

// Feeds `text` to `promtool check metrics` on stdin; returns its verdict and output.
CommandResult PromtoolCheck(const std::string& promtool, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("laredo-promtool-" + std::to_string(::getpid()) + ".prom");
  std::ofstream(path, std::ios::binary) << text;
  auto result = RunCommand(promtool + " check metrics < " + path.string());
  std::filesystem::remove(path);
  return result;
}

TEST(Promtool, AcceptsEscapesSpecialValuesAndHistograms) {
  LAREDO_REQUIRE_TOOL(promtool, "promtool");
  metrics::Registry registry;
  registry.AddCounter("demo_events_total", "Help with a \\ backslash\nand a second line.", {"kind"})
      .WithLabels({"quote \" backslash \\ newline \n done"})
      .Inc(2);
  auto& gauge = registry.AddGauge("demo_level_ratio", "Special values.", {"which"});
  gauge.WithLabels({"inf"}).Set(std::numeric_limits<double>::infinity());
  gauge.WithLabels({"neg_inf"}).Set(-std::numeric_limits<double>::infinity());
  gauge.WithLabels({"nan"}).Set(std::numeric_limits<double>::quiet_NaN());
  gauge.WithLabels({"tiny"}).Set(1e-300);
  gauge.WithLabels({"unicode"}).Set(0.5);
  auto h = registry.AddHistogram("demo_wait_seconds", "A histogram.", {"queue"}).WithLabels({"q"});
  for (const double v : {0.001, 0.3, 7.0, 100.0}) h.Observe(v);
  const auto result = PromtoolCheck(promtool, registry.Render());
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << registry.Render();
  EXPECT_EQ(result.output, "") << registry.Render();
}

TEST(Promtool, AcceptsTheObserverAfterAWorkload) {
  LAREDO_REQUIRE_TOOL(promtool, "promtool");
  auto observer = std::make_shared<metrics::PrometheusObserver>();
  auto source = UsersSource();
  source->AddRow(kUsers, User(1, "a"));
  Engine engine(FastOptions(observer));
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, std::make_shared<memory::IndexedTarget>());
  engine.AddPipeline("s", kOrders, std::make_shared<memory::IndexedTarget>());
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  const auto last = source->EmitTransaction(1, std::chrono::system_clock::now(),
                                            [&] { source->EmitInsert(kOrders, User(5, "o")); });
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  observer->OnAckAdvanced("pg", Position{}, "0/16B3748");  // as a PostgreSQL source reports
  observer->OnError("s", "boom", true);
  observer->OnSnapshotCompleted({.snapshot_id = "x", .rows = 12, .bytes = 3400, .duration = 5ms});
  observer->OnSnapshotFailed("y", "disk full");
  observer->OnSnapshotRestored("s",
                               {.snapshot_id = "x", .rows = 12, .bytes = 3400, .duration = 1ms});
  observer->OnSnapshotRestoreSkipped("s", "x", "columns changed");
  engine.Stop();
  const auto text = observer->Render();
  EXPECT_NE(text.find("laredo_snapshots_total{result=\"completed\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("laredo_snapshot_rows 12\n"), std::string::npos) << text;
  EXPECT_NE(text.find("laredo_snapshot_restores_total{source=\"s\",result=\"skipped\"} 1\n"),
            std::string::npos);
  const auto result = PromtoolCheck(promtool, text);
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << text;
  EXPECT_EQ(result.output, "") << text;
}

TEST(Promtool, RejectsBrokenExposition) {
  // The check must be able to fail: promtool refuses a sample without a value.
  LAREDO_REQUIRE_TOOL(promtool, "promtool");
  const auto result = PromtoolCheck(promtool, "# TYPE x gauge\nx{a=\"b\"}\n");
  EXPECT_NE(result.exit_code, 0) << result.output;
}

}  // namespace
}  // namespace laredo::testing
