// The publisher's request planner: Kinesis's request limits, and per-key order when PutRecords
// answers (as JSON documents) with some entries failed, or fails as a whole.
#include "put_planner.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::publish {
namespace {

using nlohmann::json;

contract::EncodedRecord Rec(std::string key, std::size_t data_bytes = 10) {
  return {std::move(key), std::string(data_bytes, 'x')};
}

// A PutRecords response: `failed[i]` gives entry i an error code instead of a sequence number.
json Response(const std::vector<std::string>& failed) {
  json records = json::array();
  int sequence = 0;
  for (const auto& code : failed) {
    if (code.empty()) {
      records.push_back(
          {{"SequenceNumber", std::to_string(++sequence)}, {"ShardId", "shardId-000000000000"}});
    } else {
      records.push_back({{"ErrorCode", code}, {"ErrorMessage", "Rate exceeded for shard"}});
    }
  }
  return {{"FailedRecordCount", 0}, {"Records", records}};
}

std::vector<aws::PutRecordsEntryResult> AllWritten(std::size_t n) {
  return aws::ParsePutRecordsResponse(Response(std::vector<std::string>(n)), n);
}

TEST(PutPlanner, SplitsAt500RecordsPerRequest) {
  PutPlanner planner;
  for (int i = 0; i < 1200; ++i) planner.Add(i + 1, Rec("k" + std::to_string(i)));
  std::vector<std::size_t> sizes;
  while (planner.HasReady()) {
    const auto ids = planner.Plan({});
    sizes.push_back(ids.size());
    planner.Complete(ids, AllWritten(ids.size()));
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{500, 500, 200}));
  EXPECT_EQ(planner.Unwritten(), 0U);
  EXPECT_EQ(planner.DurableTicket(), 1200U);
}

TEST(PutPlanner, SplitsAt5MiBPerRequestCountingPartitionKeys) {
  PutPlanner planner;
  // Five of these (data plus a 20-byte key) fill 5 MiB but for 80 bytes; a sixth does not fit.
  const std::size_t data = (std::size_t{5} << 20) / 5 - 36;
  for (int i = 0; i < 12; ++i) planner.Add(i + 1, Rec(fmt::format("key-{:016d}", i), data));
  std::vector<std::size_t> sizes;
  while (planner.HasReady()) {
    const auto ids = planner.Plan({});
    std::size_t bytes = 0;
    for (const auto id : ids) bytes += planner.Get(id).record.Bytes();
    EXPECT_LE(bytes, std::size_t{5} << 20);
    sizes.push_back(ids.size());
    planner.Complete(ids, AllWritten(ids.size()));
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{5, 5, 2}));
  // Keys 17 bytes longer (85 bytes more in all) and only four fit: the keys count.
  PutPlanner tight;
  for (int i = 0; i < 5; ++i) tight.Add(i + 1, Rec(fmt::format("key-{:033d}", i), data));
  EXPECT_EQ(tight.Plan({}).size(), 4U);
}

TEST(PutPlanner, OneRecordPerKeyInFlightAndTheNextOnlyAfterItIsWritten) {
  PutPlanner planner;
  planner.Add(1, Rec("K"));
  planner.Add(2, Rec("L"));
  planner.Add(3, Rec("K"));
  planner.Add(4, Rec("K"));
  const auto first = planner.Plan({});
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(planner.Get(first[0]).ticket, 1U);
  EXPECT_EQ(planner.Get(first[1]).ticket, 2U);
  EXPECT_TRUE(planner.Plan({}).empty());  // K's next waits for K's first
  // K#1 throttled, L written: K#1 is sent again before K#2.
  planner.Complete(first, aws::ParsePutRecordsResponse(
                              Response({"ProvisionedThroughputExceededException", ""}), 2));
  EXPECT_EQ(planner.DurableTicket(), 0U);
  const auto retry = planner.Plan({});
  ASSERT_EQ(retry.size(), 1U);
  EXPECT_EQ(planner.Get(retry[0]).ticket, 1U);
  planner.Complete(retry, AllWritten(1));
  EXPECT_EQ(planner.DurableTicket(), 2U);
  const auto next = planner.Plan({});
  ASSERT_EQ(next.size(), 1U);
  EXPECT_EQ(planner.Get(next[0]).ticket, 3U);
  planner.Abandon(next);  // the whole request failed: K#2 goes again, K#3 still waits
  const auto again = planner.Plan({});
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(planner.Get(again[0]).ticket, 3U);
}

TEST(PutPlanner, AFenceIsWrittenAloneAfterEverythingBeforeItAndBeforeEverythingAfter) {
  PutPlanner planner;
  planner.Add(1, Rec("a"));
  planner.Add(2, Rec("b"));
  auto truncate = Rec("public.t");
  truncate.fence = true;
  planner.Add(3, std::move(truncate));
  planner.Add(4, Rec("a"));
  planner.Add(5, Rec("c"));  // another key, free but for the fence
  const auto before = planner.Plan({});
  ASSERT_EQ(before.size(), 2U);
  EXPECT_EQ(planner.Get(before[0]).ticket, 1U);
  EXPECT_EQ(planner.Get(before[1]).ticket, 2U);
  EXPECT_FALSE(planner.HasReady());  // the fence waits for both, and c for the fence
  EXPECT_TRUE(planner.Plan({}).empty());
  // b throttled: the fence still waits, and so does c.
  planner.Complete(before, aws::ParsePutRecordsResponse(
                               Response({"", "ProvisionedThroughputExceededException"}), 2));
  const auto retry = planner.Plan({});
  ASSERT_EQ(retry.size(), 1U);
  EXPECT_EQ(planner.Get(retry[0]).ticket, 2U);
  planner.Complete(retry, AllWritten(1));
  const auto fence = planner.Plan({});
  ASSERT_EQ(fence.size(), 1U);
  EXPECT_EQ(planner.Get(fence[0]).ticket, 3U);
  EXPECT_FALSE(planner.HasReady());  // nothing after it while it is in flight
  EXPECT_TRUE(planner.Plan({}).empty());
  planner.Abandon(fence);  // the request failed: it goes again, alone
  const auto again = planner.Plan({});
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(planner.Get(again[0]).ticket, 3U);
  planner.Complete(again, AllWritten(1));
  const auto after = planner.Plan({});
  ASSERT_EQ(after.size(), 2U);
  EXPECT_EQ(planner.Get(after[0]).ticket, 4U);
  EXPECT_EQ(planner.Get(after[1]).ticket, 5U);
}

TEST(PutPlanner, RandomPartialFailuresNeverReorderAKey) {
  std::mt19937 rng(20240501);
  PutPlanner planner;
  constexpr int kKeys = 40;
  constexpr int kPerKey = 25;
  std::map<std::uint64_t, std::pair<std::string, int>> what;  // id -> (key, index within key)
  std::uint64_t ticket = 0;
  for (int round = 0; round < kPerKey; ++round) {
    for (int k = 0; k < kKeys; ++k) {
      // Random keys: some get several records in a row, some none in a round.
      const std::string key =
          "public.t:" + std::to_string(std::uniform_int_distribution(0, kKeys - 1)(rng));
      const auto id = planner.Add(++ticket, Rec(key));
      int index = 0;
      for (const auto& [other, entry] : what) index += entry.first == key ? 1 : 0;
      what[id] = {key, index};
    }
  }
  std::map<std::string, std::vector<int>> written;  // per key, the indexes in write order
  std::set<std::string> in_flight;
  std::vector<std::vector<std::uint64_t>> outstanding;
  const char* kCodes[] = {"ProvisionedThroughputExceededException", "InternalFailure"};
  int rounds = 0;
  while (planner.Unwritten() > 0) {
    ASSERT_LT(++rounds, 100000);
    // Up to three requests outstanding, answered in random order.
    while (outstanding.size() < 3) {
      auto ids = planner.Plan({.max_records = 7, .max_bytes = 1 << 20});
      if (ids.empty()) break;
      for (const auto id : ids) {
        EXPECT_TRUE(in_flight.insert(what[id].first).second)
            << "two records of " << what[id].first << " in flight";
      }
      outstanding.push_back(std::move(ids));
    }
    ASSERT_FALSE(outstanding.empty());
    const std::size_t pick =
        std::uniform_int_distribution<std::size_t>(0, outstanding.size() - 1)(rng);
    const auto ids = outstanding[pick];
    outstanding.erase(outstanding.begin() + static_cast<std::ptrdiff_t>(pick));
    for (const auto id : ids) in_flight.erase(what[id].first);
    if (std::uniform_int_distribution(0, 9)(rng) == 0) {
      planner.Abandon(ids);
      continue;
    }
    std::vector<std::string> codes;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      codes.emplace_back(std::uniform_int_distribution(0, 2)(rng) == 0 ? kCodes[i % 2] : "");
    }
    const auto results = aws::ParsePutRecordsResponse(Response(codes), ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (results[i].Written()) written[what[ids[i]].first].push_back(what[ids[i]].second);
    }
    const auto summary = planner.Complete(ids, results);
    EXPECT_TRUE(summary.permanent_error.empty());
  }
  std::size_t total = 0;
  for (const auto& [key, indexes] : written) {
    for (std::size_t i = 0; i < indexes.size(); ++i) {
      ASSERT_EQ(indexes[i], static_cast<int>(i)) << "key " << key << " out of order";
    }
    total += indexes.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kKeys * kPerKey));
  EXPECT_EQ(planner.DurableTicket(), ticket);
}

TEST(PutPlanner, APermanentEntryErrorIsReported) {
  PutPlanner planner;
  planner.Add(1, Rec("K"));
  planner.Add(2, Rec("L"));
  const auto ids = planner.Plan({});
  const auto summary = planner.Complete(
      ids, aws::ParsePutRecordsResponse(Response({"", "KMSAccessDeniedException"}), 2));
  EXPECT_EQ(summary.written, 1U);
  EXPECT_EQ(summary.failed, 1U);
  EXPECT_EQ(summary.permanent_error, "KMSAccessDeniedException");
  EXPECT_EQ(planner.Unwritten(), 1U);
}

TEST(PutPlanner, AResponseThatDoesNotMatchTheRequestIsABadResponse) {
  try {
    (void)aws::ParsePutRecordsResponse(Response({"", ""}), 3);
    ADD_FAILURE() << "no error";
  } catch (const RetryableError& e) {
    EXPECT_EQ(e.code(), codes::kBadResponse);
  }
  EXPECT_THROW((void)aws::ParsePutRecordsResponse(json{{"Records", {json::object()}}}, 1),
               RetryableError);
}

}  // namespace
}  // namespace laredo::kinesis::publish
