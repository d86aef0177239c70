#include "shard_streamer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "laredo/error.hpp"
#include "laredo/logging.hpp"

namespace laredo::kinesis {

ShardStreamer::ShardStreamer(aws::KinesisClient& kinesis, std::string stream,
                             const contract::Decoder& decoder, const SourceOptions& options,
                             StreamShared& shared)
    : kinesis_(kinesis),
      stream_(std::move(stream)),
      decoder_(decoder),
      options_(options),
      shared_(shared) {}

void ShardStreamer::Discover() {
  const auto listed = kinesis_.ListShards(stream_);
  for (const auto& info : listed) {
    if (shards_.contains(info.shard_id)) continue;
    Shard shard;
    shard.info = info;
    // A shard whose child already has a position was finished by an earlier run (children start
    // only after their parents end): reading it again would replay old changes.
    const bool child_started = std::any_of(listed.begin(), listed.end(), [&](const auto& other) {
      return (other.parent_shard_id == info.shard_id ||
              other.adjacent_parent_shard_id == info.shard_id) &&
             frontier_.shards.contains(other.shard_id);
    });
    if (child_started) shard.state = ShardState::Done;
    shards_.emplace(info.shard_id, std::move(shard));
  }
  rediscover_ = false;
  last_discovery_ = Clock::now();
}

bool ShardStreamer::ParentsDone(const Shard& shard) const {
  for (const std::string* parent :
       {&shard.info.parent_shard_id, &shard.info.adjacent_parent_shard_id}) {
    if (parent->empty()) continue;
    const auto it = shards_.find(*parent);
    // A parent no longer listed has aged out of the stream's retention: nothing left to read.
    if (it != shards_.end() && it->second.state != ShardState::Done) return false;
  }
  return true;
}

void ShardStreamer::Backoff(Shard& shard) {
  ++shard.throttled;
  shard.next_poll = Clock::now() + options_.throttle_backoff.Delay(shard.throttled);
}

void ShardStreamer::PublishLag() {
  std::int64_t behind = 0;
  for (const auto& [id, shard] : shards_) {
    if (shard.state == ShardState::Reading) behind = std::max(behind, shard.millis_behind);
  }
  shared_.millis_behind.store(behind);
}

void ShardStreamer::Deliver(const std::string& shard_id, aws::KinesisRecord& record,
                            ChangeHandler& handler) {
  // The frontier moves for every record read, malformed ones included: they are consumed.
  frontier_.shards.insert_or_assign(shard_id, SequenceNumber(record.sequence_number));
  contract::DecodedRecord decoded;
  try {
    decoded = decoder_.DecodeRecord(record.data);
  } catch (const DataError& e) {
    shared_.malformed.fetch_add(1);
    Logger()->warn("kinesis stream {}: malformed record {} on {} (partition key '{}'): {}", stream_,
                   record.sequence_number, shard_id, record.partition_key, e.what());
    const std::string error =
        fmt::format("shard {} sequence number {} (partition key '{}'): {}", shard_id,
                    record.sequence_number, record.partition_key, e.what());
    if (options_.on_malformed_record) {
      options_.on_malformed_record(MalformedRecord{shard_id, record.sequence_number,
                                                   record.partition_key, record.data, e.what()});
    }
    // The engine reports it (observer + dead letter) before the frontier can be acknowledged.
    handler.OnInvalidRecord(InvalidRecord{.table = decoder_.TableOf(record.data),
                                          .position = frontier_,
                                          .payload = std::move(record.data),
                                          .error = error});
    return;
  }
  decoded.event.position = frontier_;
  decoded.event.timestamp = std::chrono::system_clock::now();
  handler.OnChange(std::move(decoded.event));
}

void ShardStreamer::Poll(std::stop_token stop, Shard& shard, ChangeHandler& handler) {
  const std::string& id = shard.info.shard_id;
  try {
    if (!shard.iterator) {
      // After the last record delivered on this shard, else from its start.
      const auto it = frontier_.shards.find(id);
      shard.iterator = it != frontier_.shards.end()
                           ? kinesis_.GetShardIterator(stream_, id, "AFTER_SEQUENCE_NUMBER",
                                                       it->second.ToString())
                           : kinesis_.GetShardIterator(stream_, id, "TRIM_HORIZON", std::nullopt);
    }
    auto result = kinesis_.GetRecords(*shard.iterator, options_.max_records_per_call);
    shard.throttled = 0;
    shard.millis_behind = result.millis_behind_latest;
    for (auto& record : result.records) {
      if (stop.stop_requested()) return;
      Deliver(id, record, handler);
    }
    shard.iterator = std::move(result.next_shard_iterator);
    if (!shard.iterator) {
      Logger()->info("kinesis stream {}: shard {} read to its end", stream_, id);
      shard.state = ShardState::Done;
      rediscover_ = true;  // its children may be new
      return;
    }
    // Kinesis may answer with no records while more lie ahead (MillisBehindLatest > 0), and a
    // closed shard has nothing to wait for: only a caught-up open shard waits a poll interval.
    const bool caught_up = result.records.empty() && result.millis_behind_latest == 0 &&
                           shard.info.ending_sequence_number.empty();
    shard.next_poll =
        Clock::now() + (caught_up ? options_.poll_interval : options_.min_get_records_interval);
  } catch (const RetryableError& e) {
    if (e.code() == "throttled") {
      Logger()->debug("kinesis stream {}: shard {} throttled: {}", stream_, id, e.what());
      Backoff(shard);
      return;
    }
    if (e.code() == "expired_credentials" && options_.credentials_provider) {
      // The provider renews them; the next poll signs with what it returns.
      Logger()->info("kinesis stream {}: credentials expired reading shard {}; retrying", stream_,
                     id);
      Backoff(shard);
      return;
    }
    if (e.code() == "expired_iterator") {
      Logger()->info("kinesis stream {}: iterator of shard {} expired; renewing", stream_, id);
      shard.iterator.reset();  // renewed from the frontier on the next poll
      shard.next_poll = Clock::now();
      return;
    }
    throw;
  }
}

void ShardStreamer::Run(std::stop_token stop, StreamPosition from, ChangeHandler& handler) {
  frontier_ = std::move(from);
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(shared_.mutex);
      if (shared_.paused) {
        shared_.parked = true;
        shared_.wake.wait(lock, stop, [&] { return !shared_.paused; });
        shared_.parked = false;
      }
    }
    if (stop.stop_requested()) break;
    if (rediscover_ || Clock::now() - last_discovery_ >= options_.shard_discovery_interval) {
      Discover();
    }
    for (auto& [id, shard] : shards_) {
      if (shard.state == ShardState::Waiting && ParentsDone(shard)) {
        shard.state = ShardState::Reading;
        shard.next_poll = Clock::now();
      }
    }
    auto next_wake = last_discovery_ + options_.shard_discovery_interval;
    // Shards in id order; each ready one gets one GetRecords per round.
    for (auto& [id, shard] : shards_) {
      if (stop.stop_requested()) return;
      if (shard.state != ShardState::Reading) continue;
      if (shard.next_poll <= Clock::now()) Poll(stop, shard, handler);
      if (shard.state == ShardState::Reading) next_wake = std::min(next_wake, shard.next_poll);
    }
    PublishLag();
    if (rediscover_) continue;
    std::unique_lock lock(shared_.mutex);
    shared_.wake.wait_until(lock, stop, next_wake, [&] { return shared_.paused; });
  }
}

}  // namespace laredo::kinesis
