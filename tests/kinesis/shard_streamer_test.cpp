// The shard scheduler against a scripted in-process Kinesis: parents before children, the chain
// of positions, resuming after a split without re-reading the parent, throttling.
#include "shard_streamer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
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

  void Throttle(int times) {
    std::lock_guard lock(mutex_);
    throttle_ = times;
  }
  int Calls(const std::string& op) {
    std::lock_guard lock(mutex_);
    return calls_[op];
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
  int throttle_ = 0;
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
    Collector collector;
    std::string error;
    {
      std::jthread thread([&](std::stop_token stop) {
        try {
          streamer.Run(stop, from, collector);
        } catch (const std::exception& e) {
          error = e.what();
        }
      });
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (collector.Size() < count && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
      }
      std::this_thread::sleep_for(50ms);  // anything extra would arrive now
    }
    EXPECT_EQ(error, "");
    return collector.Events();
  }

  std::shared_ptr<FakeKinesis> fake_;
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

}  // namespace
}  // namespace laredo::kinesis
