#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "contract.hpp"
#include "kinesis_client.hpp"
#include "laredo/change_event.hpp"
#include "laredo/error.hpp"
#include "laredo/kinesis/position.hpp"
#include "laredo/kinesis/source.hpp"
#include "page_fetcher.hpp"

// Reads every shard of a stream and hands each GetRecords page to the handler in one call, from
// the calling thread, while fetch threads read the next pages (page_fetcher.hpp): a shard is read
// once all its parents are read to their end (so one key's changes stay in order across
// resharding), and each event carries the frontier of every shard.
namespace laredo::kinesis {

/// What the source's other threads see of a running stream. Thread-safe.
struct StreamShared {
  std::mutex mutex;
  std::condition_variable_any wake;
  bool paused = false;  // guarded by mutex
  /// The stream thread is parked by a pause and no request is in flight. Guarded by mutex.
  bool parked = false;
  /// Largest MillisBehindLatest among the shards being read; -1 before the first answer.
  std::atomic<std::int64_t> millis_behind{-1};
  std::atomic<std::uint64_t> malformed{0};
};

/// One `Stream` call's worth of state. Used from one thread (it owns its fetch threads).
class ShardStreamer {
 public:
  ShardStreamer(aws::KinesisClient& kinesis, std::string stream, const contract::Decoder& decoder,
                const SourceOptions& options, StreamShared& shared);

  /// Streams every record after `from` until `stop`. Throttling and expired iterators are handled
  /// here; other failures throw (RetryableError lets the engine call again from its position).
  void Run(std::stop_token stop, StreamPosition from, ChangeHandler& handler);

 private:
  using Clock = std::chrono::steady_clock;
  enum class ShardState : std::uint8_t { Waiting, Reading, Done };
  struct Shard {
    aws::ShardInfo info;
    ShardState state = ShardState::Waiting;
    std::int64_t millis_behind = 0;
  };

  void Discover();
  bool ParentsDone(const Shard& shard) const;
  /// Starts fetching the shards whose parents are done.
  void StartReadyShards(PageFetcher& fetcher);
  /// Hands every ready page to the handler, one page per shard in shard order; whether any was.
  bool DeliverReadyPages(const std::stop_token& stop, PageFetcher& fetcher, ChangeHandler& handler);
  void DeliverPage(const std::stop_token& stop, const std::string& shard_id, FetchedPage& page,
                   ChangeHandler& handler);
  void ReportInvalid(const std::string& shard_id, aws::KinesisRecord& record, const DataError& e,
                     ChangeHandler& handler);
  /// Parks while paused (and marks the source parked once no request is in flight).
  void WaitWhilePaused(const std::stop_token& stop, const PageFetcher& fetcher);
  void PublishLag();

  aws::KinesisClient& kinesis_;
  std::string stream_;
  const contract::Decoder& decoder_;
  const SourceOptions& options_;
  StreamShared& shared_;
  std::map<std::string, Shard> shards_;
  StreamPosition frontier_;
  /// The events of the page being delivered; the handler hands back spent ones whose storage the
  /// next page is decoded into.
  std::vector<ChangeEvent> batch_;
  bool rediscover_ = true;
  Clock::time_point last_discovery_{};
};

}  // namespace laredo::kinesis
