// StreamBuffers: the memory bound, spilling, and discarding subtransactions.
#include "stream_buffers.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "laredo/error.hpp"

namespace laredo::pg {
namespace {

std::vector<std::byte> Bytes(const std::string& s) {
  std::vector<std::byte> out;
  for (const char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

std::vector<std::string> ReplayAll(StreamBuffers& b, std::uint32_t xid) {
  std::vector<std::string> out;
  b.Replay(xid, [&](std::span<const std::byte> r) {
    out.emplace_back(reinterpret_cast<const char*>(r.data()), r.size());  // NOLINT
  });
  return out;
}

std::string Record(int i) { return "record-" + std::to_string(i) + std::string(90, 'x'); }

// A directory of its own, to see that spill files leave nothing in it.
struct SpillDir {
  SpillDir() {
    path =
        std::filesystem::temp_directory_path() /
        ("laredo-spill-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~SpillDir() { std::filesystem::remove_all(path); }
  [[nodiscard]] bool Empty() const { return std::filesystem::is_empty(path); }
  std::filesystem::path path;
};

TEST(StreamBuffersTest, SmallTransactionStaysInMemory) {
  StreamCounters c;
  StreamBuffers b(1 << 20, "", c);
  b.Open(5);
  for (int i = 0; i < 10; ++i) b.Append(5, 5, Bytes(Record(i)));
  EXPECT_GT(c.buffered_bytes.load(), 0U);
  const auto out = ReplayAll(b, 5);
  ASSERT_EQ(out.size(), 10U);
  EXPECT_EQ(out[3], Record(3));
  EXPECT_EQ(c.spilled_transactions.load(), 0U);
  EXPECT_EQ(c.buffered_bytes.load(), 0U);
  EXPECT_EQ(c.committed_transactions.load(), 1U);
  EXPECT_FALSE(b.IsOpen(5));
}

TEST(StreamBuffersTest, SpillsBeyondTheBoundAndReplaysInOrder) {
  SpillDir dir;
  StreamCounters c;
  constexpr std::size_t kLimit = 16 * 1024;
  StreamBuffers b(kLimit, dir.path.string(), c);
  b.Open(5);
  for (int i = 0; i < 20000; ++i) b.Append(5, 5, Bytes(Record(i)));  // about 2 MB
  EXPECT_EQ(c.spilled_transactions.load(), 1U);
  EXPECT_GT(c.spilled_bytes.load(), 20000U * 90);
  EXPECT_LE(c.peak_buffered_bytes.load(), kLimit);
  EXPECT_TRUE(dir.Empty());  // unlinked at once
  const auto out = ReplayAll(b, 5);
  ASSERT_EQ(out.size(), 20000U);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(out[i], Record(i)) << i;
}

TEST(StreamBuffersTest, TheLargestTransactionSpillsAndOthersStayInMemory) {
  StreamCounters c;
  constexpr std::size_t kLimit = 64 * 1024;
  StreamBuffers b(kLimit, "", c);
  b.Open(1);
  b.Open(2);
  for (int i = 0; i < 2000; ++i) {
    b.Append(1, 1, Bytes(Record(i)));
    if (i % 100 == 0) b.Append(2, 2, Bytes(Record(i)));  // small, interleaved
  }
  EXPECT_EQ(c.spilled_transactions.load(), 1U);
  EXPECT_LE(c.peak_buffered_bytes.load(), kLimit);
  EXPECT_GT(b.buffered_bytes(), 0U);  // transaction 2 is still in memory
  const auto two = ReplayAll(b, 2);
  ASSERT_EQ(two.size(), 20U);
  EXPECT_EQ(two[1], Record(100));
  const auto one = ReplayAll(b, 1);
  ASSERT_EQ(one.size(), 2000U);
  EXPECT_EQ(one[1999], Record(1999));
  EXPECT_EQ(b.buffered_bytes(), 0U);
}

TEST(StreamBuffersTest, ARecordLargerThanTheBoundGoesToTheFile) {
  StreamCounters c;
  StreamBuffers b(1024, "", c);
  b.Open(1);
  b.Append(1, 1, Bytes(std::string(5000, 'y')));
  b.Append(1, 1, Bytes(std::string(300'000, 'z')));  // past the file's write buffer too
  b.Append(1, 1, Bytes("small"));
  EXPECT_EQ(c.spilled_transactions.load(), 1U);
  EXPECT_LE(c.peak_buffered_bytes.load(), 1024U);
  const auto out = ReplayAll(b, 1);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0], std::string(5000, 'y'));
  EXPECT_EQ(out[1], std::string(300'000, 'z'));
  EXPECT_EQ(out[2], "small");
}

// Records of subtransaction 8 go, in memory (compacted) or spilled (filtered at replay).
void ExpectSubtransactionDiscarded(std::size_t limit) {
  StreamCounters c;
  StreamBuffers b(limit, "", c);
  b.Open(7);
  std::vector<std::string> kept;
  for (int i = 0; i < 300; ++i) {
    const std::uint32_t sub = (i / 50) % 2 == 1 ? 8 : (i < 150 ? 7 : 9);
    b.Append(7, sub, Bytes(Record(i)));
    if (sub != 8) kept.push_back(Record(i));
  }
  b.AbortSubtransaction(7, 8);
  EXPECT_EQ(c.aborted_subtransactions.load(), 1U);
  EXPECT_EQ(ReplayAll(b, 7), kept);
}

TEST(StreamBuffersTest, SubtransactionAbortInMemory) { ExpectSubtransactionDiscarded(1 << 20); }

TEST(StreamBuffersTest, SubtransactionAbortOfSpilledRecords) {
  ExpectSubtransactionDiscarded(4096);
}

TEST(StreamBuffersTest, AbortAndDestructionReleaseEverything) {
  SpillDir dir;
  StreamCounters c;
  {
    StreamBuffers b(8192, dir.path.string(), c);
    b.Open(1);
    b.Open(2);
    for (int i = 0; i < 500; ++i) b.Append(1, 1, Bytes(Record(i)));
    b.Append(2, 2, Bytes(Record(0)));
    b.Abort(1);
    EXPECT_FALSE(b.IsOpen(1));
    EXPECT_EQ(c.aborted_transactions.load(), 1U);
    EXPECT_GT(c.buffered_bytes.load(), 0U);  // transaction 2
  }
  EXPECT_EQ(c.buffered_bytes.load(), 0U);
  EXPECT_TRUE(dir.Empty());
}

TEST(StreamBuffersTest, OpeningAgainStartsOver) {
  StreamCounters c;
  StreamBuffers b(1 << 20, "", c);
  b.Open(1);
  b.Append(1, 1, Bytes("old"));
  b.Open(1);  // a first segment again: a new connection re-sends the whole transaction
  b.Append(1, 1, Bytes("new"));
  EXPECT_EQ(ReplayAll(b, 1), std::vector<std::string>{"new"});
}

TEST(StreamBuffersTest, AnUnusableSpillDirectoryIsARetryableError) {
  StreamCounters c;
  StreamBuffers b(1024, "/nonexistent/laredo-spill", c);
  b.Open(1);
  try {
    b.Append(1, 1, Bytes(std::string(5000, 'y')));
    FAIL() << "no error";
  } catch (const RetryableError& e) {
    EXPECT_EQ(e.code(), "pg_spill_io");
    EXPECT_NE(std::string(e.what()).find("/nonexistent/laredo-spill"), std::string::npos);
  }
}

TEST(StreamBuffersTest, AFailedReplayStillDropsTheTransaction) {
  StreamCounters c;
  StreamBuffers b(1 << 20, "", c);
  b.Open(1);
  b.Append(1, 1, Bytes("a"));
  EXPECT_THROW(b.Replay(1, [](std::span<const std::byte>) { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_FALSE(b.IsOpen(1));
  EXPECT_EQ(c.buffered_bytes.load(), 0U);
}

}  // namespace
}  // namespace laredo::pg
