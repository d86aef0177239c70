#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kinesis_client.hpp"
#include "laredo/kinesis/source.hpp"

// Reads GetRecords pages ahead of delivery: a few threads fetch the next pages of every shard
// being read while the stream thread hands the current ones to the handler.
namespace laredo::kinesis {

struct StreamShared;

/// One GetRecords answer of one shard, or the failure that ends the shard's reading.
struct FetchedPage {
  std::vector<aws::KinesisRecord> records;
  std::int64_t millis_behind_latest = 0;
  /// The shard is closed and this page holds its last records (no NextShardIterator).
  bool shard_ended = false;
  /// A failure other than throttling or an expired iterator; the pages before it stand.
  std::exception_ptr error;
};

/// Fetches pages of the shards it was told to read, in order per shard and at most
/// `kPagesAhead` pages ahead of the stream thread per shard (queued plus in flight), so memory
/// stays bounded (Kinesis answers at most 10 MB per call). One request per shard at a time keeps
/// the shard's order; throttling backs only that shard off (`SourceOptions::throttle_backoff`); an
/// expired iterator is renewed after the last record fetched, which is the last one the stream
/// thread will deliver before the next page, so nothing is skipped or read twice. While the source
/// is paused no request starts.
///
/// Threading contract: the public functions are for one thread (the stream thread); the fetch
/// threads are its own. Everything is guarded by `StreamShared::mutex` and signalled on
/// `StreamShared::wake` (a page, a finished request), so the stream thread waits for pages, pause
/// and stop on one condition variable. The destructor stops the fetch threads and waits for a
/// request in flight to finish (bounded by the read timeout).
class PageFetcher {
 public:
  static constexpr std::size_t kPagesAhead = 2;
  static constexpr std::size_t kMaxThreads = 8;

  PageFetcher(aws::KinesisClient& kinesis, std::string stream, const SourceOptions& options,
              StreamShared& shared);
  ~PageFetcher();
  PageFetcher(const PageFetcher&) = delete;
  PageFetcher& operator=(const PageFetcher&) = delete;

  /// Starts reading `shard_id` after `after_sequence` (from TRIM_HORIZON when absent). `open`: the
  /// shard had no ending sequence number when listed, so an empty caught-up answer waits
  /// `poll_interval`.
  void Start(const std::string& shard_id, std::optional<std::string> after_sequence, bool open);
  /// Forgets a shard whose last page was taken.
  void Forget(const std::string& shard_id);
  /// The shard's next page, if one is ready. Takes `StreamShared::mutex`.
  std::optional<FetchedPage> TryTake(const std::string& shard_id);

  // With `StreamShared::mutex` held:
  /// A page is ready for some shard.
  [[nodiscard]] bool AnyReadyLocked() const;
  /// Requests in flight.
  [[nodiscard]] std::size_t InFlightLocked() const { return in_flight_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct ShardFetch {
    std::string shard_id;
    bool open = true;
    std::optional<std::string> iterator;
    /// Last sequence number fetched (the iterator is renewed after it); absent before any.
    std::optional<std::string> last_sequence;
    Clock::time_point next_poll{};
    int throttled = 0;  // consecutive throttled calls
    bool in_flight = false;
    bool finished = false;  // its last page (end or failure) is queued: nothing more to fetch
    std::deque<FetchedPage> pages;
  };

  struct FetchResult {
    std::optional<FetchedPage> page;  // none after throttling or an expired iterator
    Clock::time_point next_poll;
  };

  void Work(const std::stop_token& stop);
  /// The shard to fetch next and when, among those with room; null when none (lock held).
  ShardFetch* NextDue(Clock::time_point& due);
  /// One request (or two, when the iterator must be made first), without the lock.
  FetchResult FetchOne(ShardFetch& shard);

  aws::KinesisClient& kinesis_;
  std::string stream_;
  const SourceOptions& options_;
  StreamShared& shared_;
  // Guarded by shared_.mutex. Entries are stable (unique_ptr) while a fetch thread uses one.
  std::map<std::string, std::unique_ptr<ShardFetch>> shards_;
  std::size_t in_flight_ = 0;
  std::vector<std::jthread> threads_;  // stream thread only
};

}  // namespace laredo::kinesis
