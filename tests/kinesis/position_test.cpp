#include "laredo/kinesis/position.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "laredo/error.hpp"

namespace laredo::kinesis {
namespace {

constexpr const char* kShard0 = "shardId-000000000000";
constexpr const char* kShard1 = "shardId-000000000001";
constexpr const char* kSeqA = "49590338271490256608559692538361571095921575989136588898";
constexpr const char* kSeqB = "49590338271490256608559692540925702759324208523137515618";

StreamPosition Pos(std::string snapshot,
                   std::initializer_list<std::pair<const char*, const char*>> shards) {
  StreamPosition p{std::move(snapshot), {}};
  for (const auto& [shard, seq] : shards) p.shards.emplace(shard, SequenceNumber(seq));
  return p;
}

TEST(StreamPosition, ToStringIsCompactAndReadable) {
  EXPECT_EQ(Pos("snap-1", {{kShard0, kSeqA}, {kShard1, "7"}}).ToString(),
            std::string("v1:snap-1@shardId-000000000000=") + kSeqA + ",shardId-000000000001=7");
  EXPECT_EQ(Pos("", {}).ToString(), "v1:@");
}

TEST(StreamPosition, RoundTripsIncludingAwkwardIds) {
  const std::vector<StreamPosition> cases{
      Pos("", {}),
      Pos("snap", {}),
      Pos("2024-05-01T12:00:00Z/run@1,=%", {{kShard0, kSeqA}}),
      Pos("ünïcode snapshot", {{"shard-with-,=@%/chars", "0"}, {kShard1, kSeqB}}),
      Pos("s", {{"a", "1"}, {"b", "2"}, {"c", "00042"}}),
  };
  for (const auto& p : cases) {
    const std::string text = p.ToString();
    const StreamPosition back = StreamPosition::Parse(text);
    EXPECT_EQ(back, p) << text;
    EXPECT_EQ(back.snapshot_id, p.snapshot_id);
    EXPECT_EQ(back.ToString(), text);  // including the sequence numbers' exact text
  }
}

TEST(StreamPosition, RejectsMalformedText) {
  const std::string seq = kSeqA;
  const std::vector<std::string> bad{
      "",
      "snap@shardId-000000000000=1",                // no prefix
      "v2:snap@a=1",                                // unknown version
      "v1:snap",                                    // no '@'
      "v1:snap@a",                                  // no '='
      "v1:snap@=1",                                 // empty shard id
      "v1:snap@a=",                                 // empty sequence number
      "v1:snap@a=12x",                              // not digits
      "v1:snap@a=-1",                               // not digits
      "v1:snap@a=1,",                               // trailing comma
      "v1:snap@a=1,,b=2",                           // empty entry
      "v1:snap@b=1,a=2",                            // out of order
      "v1:snap@a=1,a=2",                            // repeated shard
      "v1:sn ap@a=1",                               // raw character that must be escaped
      "v1:snap@a%2=1",                              // truncated escape
      "v1:snap@a%2c=1",                             // lower-case escape
      "v1:sn%61p@a=1",                              // needless escape of 'a'
      "v1:snap@a=1=2",                              // '=' inside the number
      "v1:snap@shardId-000000000000=" + seq + " ",  // trailing space
  };
  for (const auto& text : bad) {
    try {
      (void)StreamPosition::Parse(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const DataError& e) {
      EXPECT_EQ(e.code(), "bad_position") << text;
    }
  }
}

TEST(StreamPosition, ComparesPerShardNumerically) {
  const auto a = Pos("s", {{kShard0, "9"}});
  const auto b = Pos("s", {{kShard0, "10"}});
  EXPECT_LT(StreamPosition::Compare(a, b), 0);
  EXPECT_GT(StreamPosition::Compare(b, a), 0);
  EXPECT_EQ(StreamPosition::Compare(a, Pos("s", {{kShard0, "0009"}})), 0);
}

TEST(StreamPosition, AnAbsentShardIsBeforeAnySequenceNumber) {
  const auto without = Pos("s", {{kShard0, kSeqA}});
  const auto with = Pos("s", {{kShard0, kSeqA}, {kShard1, "0"}});
  EXPECT_LT(StreamPosition::Compare(without, with), 0);
  EXPECT_GT(StreamPosition::Compare(with, without), 0);
  // Also when the absent shard sorts first.
  EXPECT_LT(StreamPosition::Compare(Pos("s", {{kShard1, "5"}}),
                                    Pos("s", {{kShard0, "1"}, {kShard1, "5"}})),
            0);
}

TEST(StreamPosition, DifferentSnapshotsCompareByTheirIds) {
  const auto older = Pos("2024-05-01", {{kShard0, kSeqB}});
  const auto newer = Pos("2024-06-01", {{kShard0, "1"}});
  EXPECT_LT(StreamPosition::Compare(older, newer), 0);
  EXPECT_GT(StreamPosition::Compare(newer, older), 0);
}

// The property the engine relies on: along a chain of frontiers (one shard advances or appears
// per event, as two interleaved shards and a split produce) Compare gives the chain's order, even
// after shuffling.
TEST(StreamPosition, OrdersAChainOfFrontiersAsTheChain) {
  std::vector<StreamPosition> chain;
  StreamPosition frontier{"snap", {}};
  std::mt19937 rng(7);
  std::uint64_t s0 = 100, s1 = 5, s2 = 1;
  for (int i = 0; i < 300; ++i) {
    const auto pick = rng() % 3;
    if (pick == 0 || i < 20) {
      frontier.shards.insert_or_assign(kShard0,
                                       SequenceNumber(std::to_string(s0 += rng() % 1000 + 1)));
    } else if (pick == 1) {
      frontier.shards.insert_or_assign(kShard1,
                                       SequenceNumber(std::to_string(s1 += rng() % 1000 + 1)));
    } else if (i > 150) {  // a child shard appears halfway
      frontier.shards.insert_or_assign("shardId-000000000002",
                                       SequenceNumber(std::to_string(s2 += rng() % 1000 + 1)));
    } else {
      continue;
    }
    chain.push_back(frontier);
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    ASSERT_LT(StreamPosition::Compare(chain[i - 1], chain[i]), 0) << i;
    ASSERT_TRUE(StreamPosition::Covers(chain[i], chain[i - 1])) << i;
    ASSERT_FALSE(StreamPosition::Covers(chain[i - 1], chain[i])) << i;
  }
  auto shuffled = chain;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::sort(shuffled.begin(), shuffled.end(),
            [](const auto& a, const auto& b) { return StreamPosition::Compare(a, b) < 0; });
  EXPECT_EQ(shuffled, chain);
}

TEST(StreamPosition, CoversNeedsTheSameSnapshotAndEveryShard) {
  const auto base = Pos("s", {{kShard0, "5"}, {kShard1, "5"}});
  EXPECT_TRUE(StreamPosition::Covers(base, base));
  EXPECT_TRUE(StreamPosition::Covers(Pos("s", {{kShard0, "6"}, {kShard1, "5"}}), base));
  EXPECT_FALSE(StreamPosition::Covers(Pos("s", {{kShard0, "6"}, {kShard1, "4"}}), base));
  EXPECT_FALSE(StreamPosition::Covers(Pos("s", {{kShard0, "9"}}), base));  // lost a shard
  EXPECT_FALSE(StreamPosition::Covers(Pos("t", {{kShard0, "9"}, {kShard1, "9"}}), base));
}

}  // namespace
}  // namespace laredo::kinesis
