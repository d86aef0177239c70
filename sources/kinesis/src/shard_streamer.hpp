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

#include "contract.hpp"
#include "kinesis_client.hpp"
#include "laredo/change_event.hpp"
#include "laredo/kinesis/position.hpp"
#include "laredo/kinesis/source.hpp"

// Reads every shard of a stream on the calling thread and hands records to the handler one at a
// time: a shard is read once all its parents are read to their end (so one key's changes stay in
// order across resharding), and each event carries the frontier of every shard.
namespace laredo::kinesis {

/// What the source's other threads see of a running stream. Thread-safe.
struct StreamShared {
  std::mutex mutex;
  std::condition_variable_any wake;
  bool paused = false;  // guarded by mutex
  /// The stream thread is parked by a pause: no request in flight. Guarded by mutex.
  bool parked = false;
  /// Largest MillisBehindLatest among the shards being read; -1 before the first answer.
  std::atomic<std::int64_t> millis_behind{-1};
  std::atomic<std::uint64_t> malformed{0};
};

/// One `Stream` call's worth of state. Used from one thread.
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
    std::optional<std::string> iterator;
    Clock::time_point next_poll{};
    int throttled = 0;  // consecutive throttled calls
    std::int64_t millis_behind = 0;
  };

  void Discover();
  bool ParentsDone(const Shard& shard) const;
  void Poll(std::stop_token stop, Shard& shard, ChangeHandler& handler);
  void Deliver(const std::string& shard_id, aws::KinesisRecord& record, ChangeHandler& handler);
  void Backoff(Shard& shard);
  void PublishLag();

  aws::KinesisClient& kinesis_;
  std::string stream_;
  const contract::Decoder& decoder_;
  const SourceOptions& options_;
  StreamShared& shared_;
  std::map<std::string, Shard> shards_;
  StreamPosition frontier_;
  bool rediscover_ = true;
  Clock::time_point last_discovery_{};
};

}  // namespace laredo::kinesis
