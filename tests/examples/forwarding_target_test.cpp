// The forwarding-target example of docs/writing-a-target.md: transactions written together,
// durability reported by its flusher, and redeliveries after a restart removed by position.
#include "forwarding_target.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "laredo/laredo.hpp"
#include "laredo/testsource/test_source.hpp"

namespace {

using namespace std::chrono_literals;
const auto kUsers = laredo::Table("public", "users");

std::vector<laredo::ColumnDefinition> Columns() {
  return {{.name = "id", .type = "bigint", .primary_key = true, .primary_key_ordinal = 1},
          {.name = "name", .type = "text"}};
}

std::vector<nlohmann::json> Lines(const std::filesystem::path& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::vector<std::string> Positions(const std::vector<nlohmann::json>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) {
    if (l.contains("pos")) out.push_back(l["pos"].get<std::string>());
  }
  return out;
}

std::shared_ptr<laredo::testsource::TestSource> Source(laredo::testsource::TestSourceOptions o) {
  auto source = std::make_shared<laredo::testsource::TestSource>(o);
  source->SetSchema(kUsers, Columns());
  return source;
}

// The same history each time, as a database would replay it: 3 transactions of 3 inserts each
// (positions 1-9).
void EmitHistory(laredo::testsource::TestSource* source) {
  for (int tx = 0; tx < 3; ++tx) {
    source->EmitTransaction(100 + tx, std::chrono::system_clock::now(), [&] {
      for (int i = 1; i <= 3; ++i) {
        source->EmitInsert(kUsers, laredo::Row{{"id", tx * 3 + i}, {"name", "u"}});
      }
    });
  }
}

TEST(ForwardingTargetExample, WritesEachChangeOnceAcrossARestartThatRedelivers) {
  const auto dir = std::filesystem::temp_directory_path() / "laredo-forwarding-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto file = dir / "out.jsonl";
  laredo::EngineOptions options;
  options.ack_interval = 5ms;
  {
    auto source = Source({.resumable = true});
    auto target = std::make_shared<example::ForwardingTarget>(file, 10ms);
    laredo::Engine engine(options);
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, target);
    engine.Start();
    ASSERT_TRUE(engine.AwaitReady(10s));
    EmitHistory(source.get());
    // The ACK follows the flusher's reports (IsDurable alone would not say yes while it writes).
    ASSERT_TRUE(source->AwaitAck(9, 10s));
    engine.Stop();
  }
  EXPECT_EQ(Positions(Lines(file)),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9"}));
  for (const auto& line : Lines(file)) {
    if (line.contains("pos")) {
      EXPECT_TRUE(line.contains("tx")) << line.dump();
    }
  }
  {
    // A restart whose source resumes from an older ACK (3): changes 4-9 arrive again.
    auto source = Source({.resumable = true, .initial_acked_position = 3});
    EmitHistory(source.get());
    auto target = std::make_shared<example::ForwardingTarget>(file, 10ms);
    laredo::Engine engine(options);
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, target);
    engine.Start();
    ASSERT_TRUE(engine.AwaitReady(10s));
    const auto next = source->EmitInsert(kUsers, laredo::Row{{"id", 10}, {"name", "new"}});
    ASSERT_TRUE(source->AwaitAck(next, 10s));
    engine.Stop();
    EXPECT_EQ(source->BaselineCount(), 0);  // resumed: no baseline
  }
  EXPECT_EQ(Positions(Lines(file)),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
