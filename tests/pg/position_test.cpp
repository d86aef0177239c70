#include "laredo/pg/position.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <vector>

#include "laredo/error.hpp"
#include "laredo/pg/source.hpp"

namespace laredo::pg {
namespace {

TEST(StreamPositionTest, RoundTripsThroughText) {
  const StreamPosition p{.commit_lsn = Lsn(0x16B374D848), .index = 3, .ack_lsn = Lsn(0x16B374D000)};
  EXPECT_EQ(p.ToString(), "pg1:16/B374D848:3:16/B374D000");
  EXPECT_EQ(StreamPosition::Parse(p.ToString()), p);
  const StreamPosition zero;
  EXPECT_EQ(StreamPosition::Parse(zero.ToString()), zero);
}

TEST(StreamPositionTest, RejectsTextItWouldNotProduce) {
  for (const char* bad :
       {"", "pg1:", "pg2:0/1:1:0/1", "pg1:0/1:1", "pg1:0/1:01:0/1", "pg1:0/1:-1:0/1",
        "pg1:0/1:1:0/1:", "pg1:0/a:1:0/1", "pg1:0/1:x:0/1", "pg1:0/1:99999999999:0/1"}) {
    EXPECT_THROW(StreamPosition::Parse(bad), DataError) << bad;
  }
}

TEST(StreamPositionTest, OrdersByCommitThenIndex) {
  const StreamPosition base{.commit_lsn = Lsn(100), .index = 0, .ack_lsn = Lsn(100)};
  const StreamPosition first{.commit_lsn = Lsn(100), .index = 1, .ack_lsn = Lsn(100)};
  const StreamPosition last{.commit_lsn = Lsn(100), .index = 2, .ack_lsn = Lsn(180)};
  const StreamPosition next{.commit_lsn = Lsn(180), .index = 1, .ack_lsn = Lsn(180)};
  EXPECT_LT(StreamPosition::Compare(base, first), 0);
  EXPECT_LT(StreamPosition::Compare(first, last), 0);
  EXPECT_LT(StreamPosition::Compare(last, next), 0);
  EXPECT_GT(StreamPosition::Compare(next, base), 0);
  EXPECT_EQ(StreamPosition::Compare(last, last), 0);
}

TEST(StreamPositionTest, ATransactionsLastChangeAndItsEndAreOneResumePoint) {
  const Lsn before = Lsn::Parse("0/900");   // the previous transaction's end
  const Lsn commit = Lsn::Parse("0/1000");  // this transaction's commit record
  const Lsn end = Lsn::Parse("0/1040");     // its end: what the slot confirms once it is acked
  const StreamPosition first{.commit_lsn = commit, .index = 1, .ack_lsn = before};
  const StreamPosition last{.commit_lsn = commit, .index = 21, .ack_lsn = end};
  const StreamPosition through_end{.commit_lsn = end, .index = 0, .ack_lsn = end};
  const StreamPosition next_first{.commit_lsn = end, .index = 1, .ack_lsn = end};
  const StreamPosition later{.commit_lsn = Lsn::Parse("0/2000"), .index = 1, .ack_lsn = end};
  // The slot confirmed at the end of the snapshot's last transaction is not past the snapshot
  // (the restore at start compares them: before, a restart under load fell back to a baseline).
  EXPECT_EQ(StreamPosition::CompareResumePoints(through_end, last), 0);
  EXPECT_EQ(StreamPosition::CompareResumePoints(last, through_end), 0);
  // Everything else keeps Compare's order, also a transaction committed right at that end.
  const std::vector<StreamPosition> in_order{first, last, next_first, later};
  for (std::size_t i = 0; i < in_order.size(); ++i) {
    for (std::size_t j = 0; j < in_order.size(); ++j) {
      EXPECT_EQ(StreamPosition::CompareResumePoints(in_order[i], in_order[j]),
                StreamPosition::Compare(in_order[i], in_order[j]))
          << i << " vs " << j;
    }
  }
  EXPECT_LT(StreamPosition::CompareResumePoints(first, through_end), 0);
  EXPECT_LT(StreamPosition::CompareResumePoints(through_end, next_first), 0);
  // A mid-transaction position (ack_lsn the previous end) stays before the transaction's end.
  EXPECT_GT(StreamPosition::CompareResumePoints(through_end, first), 0);
}

TEST(StreamPositionTest, SourcePositionFunctionsAgree) {
  Source source(SourceOptions{.conninfo = "host=127.0.0.1"});
  const StreamPosition p{.commit_lsn = Lsn(7), .index = 2, .ack_lsn = Lsn(5)};
  const Position any = p;
  EXPECT_EQ(source.PositionToString(any), p.ToString());
  EXPECT_EQ(std::any_cast<StreamPosition>(source.PositionFromString(p.ToString())), p);
  EXPECT_EQ(source.ComparePositions(any, Position{}), 1);
  EXPECT_EQ(source.ComparePositions(Position{}, Position{}), 0);
  EXPECT_THROW(source.ComparePositions(any, Position{42}), DataError);
  EXPECT_THROW(source.PositionFromString("nonsense"), DataError);
}

TEST(SourceOptionsTest, ReportsEveryProblem) {
  try {
    Source source(SourceOptions{.conninfo = "",
                                .slot_name = "Bad-Name",
                                .publication_name = "",
                                .status_interval = std::chrono::milliseconds(0),
                                .baseline_parallelism = 0});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().size(), 4U);
  }
}

TEST(SourceOptionsTest, StreamedTransactionsNeedMemory) {
  try {
    Source source(SourceOptions{.conninfo = "host=127.0.0.1", .stream_memory_bytes = 0});
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1U);
    EXPECT_NE(e.problems()[0].find("stream_memory_bytes"), std::string::npos) << e.problems()[0];
  }
  const SourceOptions defaults{};
  EXPECT_TRUE(defaults.streaming);
  EXPECT_EQ(defaults.stream_memory_bytes, std::size_t{64} << 20);
  EXPECT_FALSE(defaults.on_message);
}

TEST(SourceOptionsTest, AStatefulSlotMustBeNamed) {
  try {
    Source source(SourceOptions{.conninfo = "host=127.0.0.1", .slot_mode = SlotMode::Stateful});
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1U);
    EXPECT_NE(e.problems()[0].find("slot_name"), std::string::npos) << e.problems()[0];
  }
}

TEST(SourceOptionsTest, DefaultsLeaveNothingBehindAndCollideWithNoOne) {
  Source a(SourceOptions{.conninfo = "host=127.0.0.1"});
  Source b(SourceOptions{.conninfo = "host=127.0.0.1"});
  EXPECT_FALSE(a.SupportsResume());  // ephemeral: a temporary slot
  // Random, not derived from the process: every container's PID 1 would pick the same name.
  const std::regex generated("laredo_tmp_[0-9a-f]{16}");
  EXPECT_TRUE(std::regex_match(a.slot_name(), generated)) << a.slot_name();
  EXPECT_NE(a.slot_name(), b.slot_name());
}

}  // namespace
}  // namespace laredo::pg
