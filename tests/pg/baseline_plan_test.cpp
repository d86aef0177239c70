// SplitByBlocks: the block ranges a large table is copied in, on several connections.
#include "baseline_plan.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace laredo::pg {
namespace {

CopyJob Job() {
  return CopyJob{.table = Table("public", "t"),
                 .columns = {},
                 .row_filter = "id > 0",
                 .value_types = {},
                 .blocks = std::nullopt};
}

// Every block of [0, blocks) and beyond in exactly one range, in order.
void ExpectCoversOnce(const std::vector<CopyJob>& parts, std::uint64_t blocks) {
  ASSERT_FALSE(parts.empty());
  std::uint64_t next = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    ASSERT_TRUE(parts[i].blocks.has_value());
    EXPECT_EQ(parts[i].blocks->first, next) << "range " << i;
    EXPECT_EQ(parts[i].row_filter, "id > 0");  // the filter applies to every range
    if (i + 1 < parts.size()) {
      ASSERT_TRUE(parts[i].blocks->end.has_value()) << "only the last range is open-ended";
      EXPECT_GT(*parts[i].blocks->end, next);
      next = *parts[i].blocks->end;
    } else {
      EXPECT_FALSE(parts[i].blocks->end.has_value()) << "blocks added since must be copied";
      EXPECT_LT(next, blocks);
    }
  }
}

TEST(SplitByBlocks, ASmallTableStaysOneJobForTheWholeTable) {
  for (const std::uint64_t blocks : {0ULL, 1ULL, 100ULL}) {
    const auto parts = SplitByBlocks(Job(), blocks, 100);
    ASSERT_EQ(parts.size(), 1U);
    EXPECT_FALSE(parts[0].blocks.has_value());
  }
  EXPECT_FALSE(SplitByBlocks(Job(), 1000, 0)[0].blocks.has_value());
}

TEST(SplitByBlocks, RangesCoverEveryBlockOnceAndTheLastIsOpenEnded) {
  const auto exact = SplitByBlocks(Job(), 400, 100);
  ASSERT_EQ(exact.size(), 4U);
  ExpectCoversOnce(exact, 400);
  EXPECT_EQ(exact[3].blocks->first, 300U);
  const auto ragged = SplitByBlocks(Job(), 401, 100);
  ASSERT_EQ(ragged.size(), 5U);
  ExpectCoversOnce(ragged, 401);
  ExpectCoversOnce(SplitByBlocks(Job(), 101, 100), 101);
  ExpectCoversOnce(SplitByBlocks(Job(), 12345, 7), 12345);
}

TEST(SplitByBlocks, BlockNumbersStayWithinThirtyTwoBits) {
  // The largest table PostgreSQL can hold: 2^32 - 1 blocks.
  const std::uint64_t blocks = std::numeric_limits<std::uint32_t>::max();
  const auto parts = SplitByBlocks(Job(), blocks, std::uint64_t{1} << 30);
  ASSERT_EQ(parts.size(), 4U);
  ExpectCoversOnce(parts, blocks);
  EXPECT_EQ(parts[3].blocks->first, 3U << 30);
}

}  // namespace
}  // namespace laredo::pg
