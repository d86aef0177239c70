// The shard scheduler against a scripted in-process Kinesis: parents before children, the chain
// of positions, resuming after a split without re-reading the parent, throttling.
#include "shard_streamer.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <thread>

#include "base64.hpp"
#include "laredo/error.hpp"

namespace laredo::kinesis {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const TableIdentifier kUsers{"public", "users"};

// Sequence number of record `i` of a shard: distinct per shard, increasing.
std::string Seq(int shard, int i) { return std::to_string(1'000'000 * (shard + 1) + i); }

class FakeKinesis final : public http::Client {
 public:
  struct Shard {
    std::string id;
    std::string parent;
    std::vector<std::string> data;
    bool closed = false;
  };

  explicit FakeKinesis(std::vector<Shard> shards) : shards_(std::move(shards)) {}

  http::Response Send(const http::Request& request, const http::BodyCallback*) override {
    std::lock_guard lock(mutex_);
    std::string target;
    for (const auto& [name, value] : request.headers) {
      if (name == "x-amz-target") target = value.substr(value.find('.') + 1);
    }
    const json in = json::parse(request.body);
    ++calls_[target];
    if (target == "GetRecords" && fail_after_ >= 0 && calls_[target] > fail_after_) {
      return {400, {}, R"({"__type":"InvalidArgumentException","message":"broken"})"};
    }
    if (target == "GetRecords" && throttle_ > 0) {
      --throttle_;
      return {400, {}, R"({"__type":"ProvisionedThroughputExceededException","message":"x"})"};
    }
    json out;
    if (target == "ListShards") {
      out["Shards"] = json::array();
      for (const auto& s : shards_) {
        json shard = {{"ShardId", s.id}};
        if (!s.parent.empty()) shard["ParentShardId"] = s.parent;
        out["Shards"].push_back(shard);
      }
    } else if (target == "GetShardIterator") {
      const int index = IndexOf(in["ShardId"].get<std::string>());
      int start = 0;
      if (in["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER") {
        start = std::stoi(in["StartingSequenceNumber"].get<std::string>()) % 1'000'000 + 1;
      }
      out["ShardIterator"] = std::to_string(index) + ":" + std::to_string(start);
    } else if (target == "GetRecords") {
      const std::string it = in["ShardIterator"].get<std::string>();
      const int index = std::stoi(it.substr(0, it.find(':')));
      int pos = std::stoi(it.substr(it.find(':') + 1));
      const auto& shard = shards_[static_cast<std::size_t>(index)];
      ++reads_of_[index];
      const int limit = in["Limit"].get<int>();
      out["Records"] = json::array();
      for (int n = 0; n < limit && pos < static_cast<int>(shard.data.size()); ++n, ++pos) {
        out["Records"].push_back(
            {{"SequenceNumber", Seq(index, pos)},
             {"PartitionKey", "k"},
             {"Data", base64::Encode(shard.data[static_cast<std::size_t>(pos)])}});
      }
      if (!(shard.closed && pos >= static_cast<int>(shard.data.size()))) {
        out["NextShardIterator"] = std::to_string(index) + ":" + std::to_string(pos);
      }
      out["MillisBehindLatest"] = 42;
    } else {
      return {400, {}, R"({"__type":"InvalidArgumentException","message":"unsupported"})"};
    }
    return {200, {}, out.dump()};
  }

  /// GetRecords calls after the first `n` fail with a client error.
  void FailGetRecordsAfter(int n) {
    std::lock_guard lock(mutex_);
    fail_after_ = n;
  }
  void Throttle(int times) {
    std::lock_guard lock(mutex_);
    throttle_ = times;
  }
  int Calls(const std::string& op) {
    std::lock_guard lock(mutex_);
    return calls_[op];
  }
  /// GetRecords calls that reached shard `index` (throttled ones excluded).
  int ReadsOf(int index) {
    std::lock_guard lock(mutex_);
    return reads_of_[index];
  }

 private:
  int IndexOf(const std::string& id) const {
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      if (shards_[i].id == id) return static_cast<int>(i);
    }
    throw std::logic_error("no shard " + id);
  }

  std::mutex mutex_;
  std::vector<Shard> shards_;
  std::map<std::string, int> calls_;
  std::map<int, int> reads_of_;
  int throttle_ = 0;
  int fail_after_ = -1;
};

std::string Update(int id, int v) {
  return json{{"table", "public.users"}, {"action", "update"}, {"new", {{"id", id}, {"v", v}}}}
      .dump();
}

class Collector : public ChangeHandler {
 public:
  void OnChange(ChangeEvent event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  std::vector<ChangeEvent> Events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::size_t Size() {
    std::lock_guard lock(mutex_);
    return events_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<ChangeEvent> events_;
};

class ShardStreamerTest : public ::testing::Test {
 protected:
  // Parent shard 0 (closed, key 1 v1..v3, key 2 v1..v2), children 1 and 2 (key 1 v4..v5 and
  // key 2 v3..v4).
  void SetUp() override {
    fake_ = std::make_shared<FakeKinesis>(std::vector<FakeKinesis::Shard>{
        {"shardId-000000000000",
         "",
         {Update(1, 1), Update(2, 1), Update(1, 2), Update(2, 2), Update(1, 3)},
         true},
        {"shardId-000000000001", "shardId-000000000000", {Update(1, 4), Update(1, 5)}, false},
        {"shardId-000000000002", "shardId-000000000000", {Update(2, 3), Update(2, 4)}, false},
    });
    options_.poll_interval = 1ms;
    options_.min_get_records_interval = 0ms;
    options_.shard_discovery_interval = 50ms;
    options_.max_records_per_call = 2;
  }

  std::vector<ChangeEvent> RunUntil(std::size_t count, StreamPosition from) {
    Collector collector;
    std::string error;
    RunWhile(
        collector, from, [&] { return collector.Size() < count; }, error);
    EXPECT_EQ(error, "");
    return collector.Events();
  }

  // Streams into `handler` while `go_on` holds (10 s at most), then a moment more: anything extra
  // would arrive then. `error` is what Run threw.
  void RunWhile(ChangeHandler& handler, const StreamPosition& from,
                const std::function<bool()>& go_on, std::string& error) {
    aws::KinesisClient kinesis(aws::ServiceConfig{.http = fake_,
                                                  .credentials = {"AKID", "secret", ""},
                                                  .region = "us-east-1",
                                                  .service = "kinesis",
                                                  .endpoint = http::Endpoint::Parse("http://fake"),
                                                  .fault_injector = {}});
    const std::map<TableIdentifier, std::vector<ColumnDefinition>> tables = {
        {kUsers,
         {{.name = "id", .type = "bigint", .primary_key = true, .primary_key_ordinal = 1},
          {.name = "v", .type = "bigint"}}}};
    const contract::Decoder decoder(tables);
    ShardStreamer streamer(kinesis, "s", decoder, options_, shared_);
    std::jthread thread([&](std::stop_token stop) {
      try {
        streamer.Run(stop, from, handler);
      } catch (const std::exception& e) {
        error = e.what();
      }
      run_ended_ = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (go_on() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(50ms);  // anything extra would arrive now
  }

  std::shared_ptr<FakeKinesis> fake_;
  std::atomic<bool> run_ended_{false};  // Run returned or threw
  SourceOptions options_;
  StreamShared shared_;
};

std::map<std::int64_t, std::vector<std::int64_t>> ByKey(const std::vector<ChangeEvent>& events) {
  std::map<std::int64_t, std::vector<std::int64_t>> out;
  for (const auto& e : events) {
    out[e.new_values.at("id").AsInt()].push_back(e.new_values.at("v").AsInt());
  }
  return out;
}

TEST_F(ShardStreamerTest, ParentIsFinishedBeforeEitherChildStarts) {
  const auto events = RunUntil(9, {"snap", {}});
  ASSERT_EQ(events.size(), 9U);
  EXPECT_EQ(ByKey(events), (std::map<std::int64_t, std::vector<std::int64_t>>{{1, {1, 2, 3, 4, 5}},
                                                                              {2, {1, 2, 3, 4}}}));
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(std::any_cast<const StreamPosition&>(events[i].position).shards.size(), 1U) << i;
  }
  for (std::size_t i = 1; i < events.size(); ++i) {
    const auto& a = std::any_cast<const StreamPosition&>(events[i - 1].position);
    const auto& b = std::any_cast<const StreamPosition&>(events[i].position);
    EXPECT_TRUE(StreamPosition::Covers(b, a)) << i;
    EXPECT_LT(StreamPosition::Compare(a, b), 0) << i;
  }
  EXPECT_EQ(shared_.millis_behind.load(), 42);
}

TEST_F(ShardStreamerTest, ResumingInAChildDoesNotReadTheParentAgain) {
  // Everything of the parent and the first record of child 1 were delivered before.
  StreamPosition from{"snap",
                      {{"shardId-000000000000", SequenceNumber(Seq(0, 4))},
                       {"shardId-000000000001", SequenceNumber(Seq(1, 0))}}};
  const auto events = RunUntil(3, from);
  EXPECT_EQ(ByKey(events),
            (std::map<std::int64_t, std::vector<std::int64_t>>{{1, {5}}, {2, {3, 4}}}));
}

TEST_F(ShardStreamerTest, ResumingAfterAChildStartedSkipsAParentNotInThePosition) {
  // The parent aged out of the position text but child 2 has one: the parent was finished.
  StreamPosition from{"snap", {{"shardId-000000000002", SequenceNumber(Seq(2, 0))}}};
  const auto events = RunUntil(3, from);
  EXPECT_EQ(ByKey(events),
            (std::map<std::int64_t, std::vector<std::int64_t>>{{1, {4, 5}}, {2, {4}}}));
}

TEST_F(ShardStreamerTest, ThrottlingBacksOffAndLosesNothing) {
  fake_->Throttle(4);
  options_.throttle_backoff = {.initial = 1ms, .max = 20ms, .multiplier = 2.0};
  const auto events = RunUntil(9, {"snap", {}});
  EXPECT_EQ(ByKey(events), (std::map<std::int64_t, std::vector<std::int64_t>>{{1, {1, 2, 3, 4, 5}},
                                                                              {2, {1, 2, 3, 4}}}));
  EXPECT_GE(fake_->Calls("GetRecords"), 4 + 5);
}

// Records every call, in order: "changes N" for an OnChanges of N events, "invalid" for a
// malformed record.
class CallRecorder : public ChangeHandler {
 public:
  void OnChange(ChangeEvent event) override { OnChanges(std::span<ChangeEvent>(&event, 1)); }
  void OnChanges(std::span<ChangeEvent> events) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("changes " + std::to_string(events.size()));
    for (auto& e : events) events_.push_back(e);
  }
  void OnInvalidRecord(InvalidRecord record) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("invalid");
    invalid_.push_back(std::move(record));
  }
  std::vector<std::string> Calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::size_t Seen() {
    std::lock_guard lock(mutex_);
    return events_.size() + invalid_.size();
  }
  std::vector<ChangeEvent> Events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<InvalidRecord> Invalid() {
    std::lock_guard lock(mutex_);
    return invalid_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> calls_;
  std::vector<ChangeEvent> events_;
  std::vector<InvalidRecord> invalid_;
};

TEST_F(ShardStreamerTest, APageIsOneOnChangesCallSplitAroundMalformedRecords) {
  fake_ = std::make_shared<FakeKinesis>(std::vector<FakeKinesis::Shard>{
      {"shardId-000000000000",
       "",
       {Update(1, 1), "not json", Update(1, 2), Update(1, 3), Update(1, 4)},
       true}});
  options_.max_records_per_call = 4;  // pages: 4 records, then 1
  CallRecorder recorder;
  std::string error;
  RunWhile(
      recorder, {"snap", {}}, [&] { return recorder.Seen() < 5; }, error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(recorder.Calls(),
            (std::vector<std::string>{"changes 1", "invalid", "changes 2", "changes 1"}));
  const auto events = recorder.Events();
  ASSERT_EQ(events.size(), 4U);
  const auto invalid = recorder.Invalid();
  ASSERT_EQ(invalid.size(), 1U);
  // The malformed record's position lies between its neighbours'.
  const auto& at = [](const Position& p) { return std::any_cast<const StreamPosition&>(p); };
  EXPECT_LT(StreamPosition::Compare(at(events[0].position), at(invalid[0].position)), 0);
  EXPECT_LT(StreamPosition::Compare(at(invalid[0].position), at(events[1].position)), 0);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].new_values.at("v").AsInt(), static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(events[i].table, kUsers);
  }
}

// Blocks its first OnChanges until released, as a full engine buffer would.
class BlockingHandler : public CallRecorder {
 public:
  void OnChanges(std::span<ChangeEvent> events) override {
    {
      std::unique_lock lock(mutex_);
      released_.wait(lock, [&] { return released_flag_; });
    }
    CallRecorder::OnChanges(events);
  }
  void Release() {
    {
      std::lock_guard lock(mutex_);
      released_flag_ = true;
    }
    released_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool released_flag_ = false;
};

TEST_F(ShardStreamerTest, NextPagesAreFetchedWhileOneIsDeliveredButOnlyAFewAhead) {
  std::vector<std::string> many;
  for (int v = 1; v <= 40; ++v) many.push_back(Update(1, v));
  fake_ = std::make_shared<FakeKinesis>(
      std::vector<FakeKinesis::Shard>{{"shardId-000000000000", "", many, true}});
  options_.max_records_per_call = 2;  // 20 pages
  BlockingHandler handler;
  std::string error;
  // While the first page is stuck in the handler, the shard's next pages are read, up to the
  // bound: the one being delivered plus PageFetcher::kPagesAhead.
  const int bound = 1 + static_cast<int>(PageFetcher::kPagesAhead);
  std::atomic<bool> released{false};
  RunWhile(
      handler, {"snap", {}},
      [&] {
        if (!released && fake_->ReadsOf(0) >= bound) {
          EXPECT_EQ(handler.Seen(), 0U);
          // Reads beyond the bound would happen within this window.
          std::this_thread::sleep_for(50ms);
          EXPECT_EQ(fake_->ReadsOf(0), bound);
          released = true;
          handler.Release();
        }
        return handler.Seen() < 40;
      },
      error);
  EXPECT_TRUE(released.load()) << "the next pages were not fetched during delivery";
  EXPECT_EQ(error, "");
  const auto events = handler.Events();
  ASSERT_EQ(events.size(), 40U);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].new_values.at("v").AsInt(), static_cast<std::int64_t>(i + 1));
  }
}

TEST_F(ShardStreamerTest, AFailureAfterPrefetchedPagesComesAfterTheirRecords) {
  options_.max_records_per_call = 1;
  fake_->FailGetRecordsAfter(3);
  CallRecorder recorder;
  std::string error;
  RunWhile(
      recorder, {"snap", {}}, [&] { return !run_ended_; }, error);
  EXPECT_TRUE(run_ended_);
  EXPECT_NE(error.find("InvalidArgumentException"), std::string::npos) << error;
  // Every record fetched before the failure was delivered, in order.
  EXPECT_EQ(recorder.Seen(), 3U);
}

}  // namespace
}  // namespace laredo::kinesis
