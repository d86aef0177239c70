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
    // A closed shard whose position is at its end (a snapshot lists closed shards so) holds
    // nothing more: reading it would only ask for an iterator past its end.
    const auto at = frontier_.shards.find(info.shard_id);
    const bool read_to_end = !info.ending_sequence_number.empty() && at != frontier_.shards.end() &&
                             !(at->second < SequenceNumber(info.ending_sequence_number));
    if (child_started || read_to_end) shard.state = ShardState::Done;
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

void ShardStreamer::PublishLag() {
  std::int64_t behind = 0;
  for (const auto& [id, shard] : shards_) {
    if (shard.state == ShardState::Reading) behind = std::max(behind, shard.millis_behind);
  }
  shared_.millis_behind.store(behind);
}

void ShardStreamer::ReportInvalid(const std::string& shard_id, aws::KinesisRecord& record,
                                  const DataError& e, ChangeHandler& handler) {
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
}

namespace {

// Assigns over a spent event's position when it holds one: the map's nodes and strings are
// reused instead of allocated for every event.
void AssignPosition(Position& position, const StreamPosition& frontier) {
  if (auto* held = std::any_cast<StreamPosition>(&position)) {
    *held = frontier;
  } else {
    position = frontier;
  }
}

}  // namespace

void ShardStreamer::DeliverPage(const std::stop_token& stop, const std::string& shard_id,
                                FetchedPage& page, ChangeHandler& handler) {
  const auto now = std::chrono::system_clock::now();
  // The frontier entry of this shard, made once and then only assigned.
  auto entry = frontier_.shards.find(shard_id);
  std::size_t n = 0;
  // One OnChanges per run of decodable records: the whole page unless malformed records split it,
  // each reported in its place.
  const auto flush = [&] {
    if (n > 0) handler.OnChanges(std::span<ChangeEvent>(batch_.data(), n));
    n = 0;
  };
  for (auto& record : page.records) {
    // The frontier moves for every record read, malformed ones included: they are consumed.
    if (entry == frontier_.shards.end()) {
      entry = frontier_.shards.emplace(shard_id, SequenceNumber(record.sequence_number)).first;
    } else {
      entry->second = SequenceNumber(record.sequence_number);
    }
    if (n == batch_.size()) batch_.emplace_back();
    ChangeEvent& event = batch_[n];
    try {
      // A barrier (the publisher's snapshot marker) is consumed and skipped.
      if (!decoder_.DecodeRecordInto(record.data, event)) continue;
    } catch (const DataError& e) {
      flush();
      if (stop.stop_requested()) return;
      ReportInvalid(shard_id, record, e, handler);
      continue;
    }
    AssignPosition(event.position, frontier_);
    event.timestamp = now;
    ++n;
  }
  if (stop.stop_requested()) return;
  flush();
}

bool ShardStreamer::DeliverReadyPages(const std::stop_token& stop, PageFetcher& fetcher,
                                      ChangeHandler& handler) {
  bool delivered = false;
  // Shards in id order, one page each per round, so a busy shard does not starve the others.
  for (auto& [id, shard] : shards_) {
    if (stop.stop_requested()) return delivered;
    if (shard.state != ShardState::Reading) continue;
    auto page = fetcher.TryTake(id);
    if (!page) continue;
    delivered = true;
    DeliverPage(stop, id, *page, handler);
    // After the records fetched before it: they were read and delivered.
    if (page->error) std::rethrow_exception(page->error);
    shard.millis_behind = page->millis_behind_latest;
    if (page->shard_ended) {
      Logger()->info("kinesis stream {}: shard {} read to its end", stream_, id);
      shard.state = ShardState::Done;
      fetcher.Forget(id);
      rediscover_ = true;  // its children may be new
    }
  }
  return delivered;
}

void ShardStreamer::StartReadyShards(PageFetcher& fetcher) {
  for (auto& [id, shard] : shards_) {
    if (shard.state != ShardState::Waiting || !ParentsDone(shard)) continue;
    shard.state = ShardState::Reading;
    // After the last record delivered on this shard, else from its start.
    const auto it = frontier_.shards.find(id);
    fetcher.Start(id,
                  it != frontier_.shards.end() ? std::optional<std::string>(it->second.ToString())
                                               : std::nullopt,
                  shard.info.ending_sequence_number.empty());
  }
}

void ShardStreamer::WaitWhilePaused(const std::stop_token& stop, const PageFetcher& fetcher) {
  std::unique_lock lock(shared_.mutex);
  if (!shared_.paused) return;
  // Paused means parked: nothing is delivered and no request is in flight. A request that was in
  // flight at Pause finishes (its page waits), and each one's end wakes this wait.
  shared_.wake.wait(lock, stop, [&] {
    shared_.parked = shared_.paused && fetcher.InFlightLocked() == 0;
    return !shared_.paused;
  });
  shared_.parked = false;
}

void ShardStreamer::Run(std::stop_token stop, StreamPosition from, ChangeHandler& handler) {
  frontier_ = std::move(from);
  // Declared after the state it reads; destroyed (fetch threads joined) before Run returns.
  PageFetcher fetcher(kinesis_, stream_, options_, shared_);
  while (!stop.stop_requested()) {
    WaitWhilePaused(stop, fetcher);
    if (stop.stop_requested()) break;
    if (rediscover_ || Clock::now() - last_discovery_ >= options_.shard_discovery_interval) {
      Discover();
    }
    StartReadyShards(fetcher);
    const bool delivered = DeliverReadyPages(stop, fetcher, handler);
    PublishLag();
    if (delivered || rediscover_) continue;
    std::unique_lock lock(shared_.mutex);
    shared_.wake.wait_until(lock, stop, last_discovery_ + options_.shard_discovery_interval,
                            [&] { return shared_.paused || fetcher.AnyReadyLocked(); });
  }
}

}  // namespace laredo::kinesis
