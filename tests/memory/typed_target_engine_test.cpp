// TypedTarget under the real engine and the test source, through the public API only.
#include <gtest/gtest.h>

#include <stdexcept>

#include "engine/test_util.hpp"
#include "laredo/memory/typed_target.hpp"

namespace laredo::memory {
namespace {

using laredo::testing::FastOptions;
using laredo::testing::IdNameColumns;
using laredo::testing::kUsers;
using laredo::testing::QuickRetries;
using laredo::testing::User;
using namespace std::chrono_literals;

struct Person {
  std::int64_t id = 0;
  std::string name;
};

TEST(TypedTargetEngine, BaselineAndChangesArriveAndAPoisonRowIsDeadLettered) {
  auto source = std::make_shared<testsource::TestSource>();
  source->SetSchema(kUsers, IdNameColumns());
  source->AddRow(kUsers, User(1, "ada"));
  source->AddRow(kUsers, User(2, "bob"));
  auto people = std::make_shared<TypedTarget<Person>>(TypedTargetOptions<Person>{
      .make =
          [](const Row& row) {
            if (row.at("name").AsText() == "poison") throw std::runtime_error("cannot build");
            return Person{.id = row.at("id").AsInt(), .name = row.at("name").AsText()};
          },
      .indexes = {{.name = "by_name",
                   .key = [](const Person& p) { return std::vector<Value>{p.name}; },
                   .unique = true}},
      .on_schema_change = {},
      .to_row = {}});
  auto dead = std::make_shared<InMemoryDeadLetterSink>();
  PipelineOptions options;
  // Skip goes on after a dead letter; a DataError is not retried.
  options.error_policy = QuickRetries(50, ErrorAction::Skip);
  options.dead_letter = dead;
  Engine engine(FastOptions());
  engine.AddSource("s", source);
  engine.AddPipeline("s", kUsers, people, options);
  engine.Start();
  ASSERT_TRUE(engine.AwaitReady(10s));
  EXPECT_EQ(people->Count(), 2U);
  source->EmitInsert(kUsers, User(3, "cy"));
  source->EmitUpdate(kUsers, User(1, "ada2"), Row{{"id", 1}});
  source->EmitInsert(kUsers, User(4, "poison"));
  source->EmitDelete(kUsers, Row{{"id", 2}});
  const auto last = source->EmitInsert(kUsers, User(5, "eve"));
  ASSERT_TRUE(source->AwaitAck(last, 10s));
  engine.Stop();
  EXPECT_EQ(people->Count(), 3U);  // 1, 3, 5
  EXPECT_EQ(people->Get({Value(1)})->name, "ada2");
  EXPECT_EQ(people->Get({Value(2)}), nullptr);
  EXPECT_EQ(people->Get({Value(4)}), nullptr);
  EXPECT_EQ(people->Lookup("by_name", {Value("eve")})->id, 5);
  ASSERT_EQ(dead->Count(), 1U);
  const auto letter = dead->Letters().front();
  EXPECT_NE(letter.error.find("cannot build"), std::string::npos) << letter.error;
  EXPECT_EQ(letter.attempts, 1);  // a DataError: no retries
}

}  // namespace
}  // namespace laredo::memory
