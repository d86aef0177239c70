#include "laredo/testsource/test_source.hpp"

#include <gtest/gtest.h>

#include "engine/test_util.hpp"
#include "laredo/error.hpp"

namespace laredo::testsource {
namespace {

using laredo::testing::IdNameColumns;
using laredo::testing::kUsers;
using laredo::testing::User;
using namespace std::chrono_literals;

class Collect : public ChangeHandler {
 public:
  void OnChange(ChangeEvent event) override { events.push_back(std::move(event)); }
  std::vector<ChangeEvent> events;
};

TEST(TestSource, PositionsRoundTripAndRejectGarbage) {
  TestSource source;
  EXPECT_EQ(source.PositionToString(std::uint64_t{42}), "42");
  EXPECT_EQ(TestSource::Unwrap(source.PositionFromString("42")), 42U);
  for (const char* bad : {"", "-1", "4x", "x", " 1", "18446744073709551616"}) {
    EXPECT_THROW(source.PositionFromString(bad), DataError) << bad;
  }
  EXPECT_THROW(source.ComparePositions(std::string("1"), std::uint64_t{1}), DataError);
  EXPECT_LT(source.ComparePositions(std::uint64_t{1}, std::uint64_t{2}), 0);
  EXPECT_EQ(source.ComparePositions(std::uint64_t{2}, std::uint64_t{2}), 0);
  EXPECT_THROW(source.Ack(Position{}), DataError);
}

TEST(TestSource, StreamsFromAPositionAndStopsOnRequest) {
  TestSource source;
  source.SetSchema(kUsers, IdNameColumns());
  EXPECT_EQ(source.EmitInsert(kUsers, User(1, "a")), 1U);
  EXPECT_EQ(source.EmitUpdate(kUsers, User(1, "b"), Row{{"id", 1}}), 2U);
  EXPECT_EQ(source.EmitDelete(kUsers, Row{{"id", 1}}), 3U);
  Collect handler;
  std::stop_source stop;
  std::jthread streamer([&] { source.Stream(stop.get_token(), std::uint64_t{1}, handler); });
  ASSERT_TRUE(source.AwaitDelivered(3, 5s));
  stop.request_stop();
  streamer.join();
  ASSERT_EQ(handler.events.size(), 2U);
  EXPECT_EQ(handler.events[0].action, ChangeAction::Update);
  EXPECT_EQ(std::any_cast<std::uint64_t>(handler.events[0].position), 2U);
  EXPECT_EQ(handler.events[1].action, ChangeAction::Delete);
}

TEST(TestSource, BaselineReflectsEmittedChanges) {
  TestSource source;
  source.SetSchema(kUsers, IdNameColumns());
  source.AddRow(kUsers, User(1, "a"));
  source.AddRow(kUsers, User(2, "b"));
  source.EmitDelete(kUsers, Row{{"id", 1}});
  source.EmitUpdate(kUsers, User(2, "c"), {});
  std::vector<Row> rows;
  const auto position =
      source.Baseline({}, {kUsers}, [&](const TableIdentifier&, Row r) { rows.push_back(r); });
  EXPECT_EQ(TestSource::Unwrap(position), 2U);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0], User(2, "c"));
}

TEST(TestSource, ResumeModeReportsTheLastAck) {
  TestSource plain;
  EXPECT_FALSE(plain.SupportsResume());
  plain.Ack(std::uint64_t{3});
  EXPECT_FALSE(plain.LastAckedPosition().has_value());
  TestSource resumable({.resumable = true, .initial_acked_position = 7});
  EXPECT_EQ(TestSource::Unwrap(resumable.LastAckedPosition()), 7U);
  resumable.Ack(std::uint64_t{9});
  EXPECT_EQ(TestSource::Unwrap(resumable.LastAckedPosition()), 9U);
  EXPECT_EQ(resumable.AckedPositions(), (std::vector<std::uint64_t>{9}));
}

TEST(TestSource, ChangesToUndeclaredTablesAreErrors) {
  TestSource source;
  EXPECT_THROW(source.EmitInsert(kUsers, User(1, "a")), Error);
  source.SetSchema(kUsers, IdNameColumns());
  EXPECT_THROW(source.EmitInsert(kUsers, Row{{"name", "no id"}}), Error);
}

}  // namespace
}  // namespace laredo::testsource
