#include "page_fetcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "shard_streamer.hpp"

namespace laredo::kinesis {

PageFetcher::PageFetcher(aws::KinesisClient& kinesis, std::string stream,
                         const SourceOptions& options, StreamShared& shared)
    : kinesis_(kinesis), stream_(std::move(stream)), options_(options), shared_(shared) {}

PageFetcher::~PageFetcher() {
  for (auto& thread : threads_) thread.request_stop();
  // Taking the lock orders the stop before any fetch thread's next look at it.
  { const std::lock_guard lock(shared_.mutex); }
  shared_.wake.notify_all();
  threads_.clear();  // joins
}

void PageFetcher::Start(const std::string& shard_id, std::optional<std::string> after_sequence,
                        bool open) {
  std::size_t reading = 0;
  {
    const std::lock_guard lock(shared_.mutex);
    auto shard = std::make_unique<ShardFetch>();
    shard->shard_id = shard_id;
    shard->open = open;
    shard->last_sequence = std::move(after_sequence);
    shard->next_poll = Clock::now();
    shards_.insert_or_assign(shard_id, std::move(shard));
    reading = shards_.size();
  }
  // One thread per shard being read, up to a few: more would only queue at the same server.
  if (threads_.size() < std::min(kMaxThreads, reading)) {
    threads_.emplace_back([this](const std::stop_token& stop) { Work(stop); });
  }
  shared_.wake.notify_all();
}

void PageFetcher::Forget(const std::string& shard_id) {
  const std::lock_guard lock(shared_.mutex);
  const auto it = shards_.find(shard_id);
  // Only a finished shard is forgotten, and a finished one has no request in flight.
  if (it != shards_.end() && !it->second->in_flight) shards_.erase(it);
}

std::optional<FetchedPage> PageFetcher::TryTake(const std::string& shard_id) {
  std::optional<FetchedPage> page;
  {
    const std::lock_guard lock(shared_.mutex);
    const auto it = shards_.find(shard_id);
    if (it == shards_.end() || it->second->pages.empty()) return std::nullopt;
    page = std::move(it->second->pages.front());
    it->second->pages.pop_front();
  }
  shared_.wake.notify_all();  // room for the next fetch
  return page;
}

bool PageFetcher::AnyReadyLocked() const {
  return std::any_of(shards_.begin(), shards_.end(),
                     [](const auto& entry) { return !entry.second->pages.empty(); });
}

PageFetcher::ShardFetch* PageFetcher::NextDue(Clock::time_point& due) {
  ShardFetch* next = nullptr;
  for (auto& [id, shard] : shards_) {
    if (shard->in_flight || shard->finished) continue;
    if (shard->pages.size() + 1 > kPagesAhead) continue;  // the one to fetch counts
    if (next == nullptr || shard->next_poll < next->next_poll) next = shard.get();
  }
  if (next != nullptr) due = next->next_poll;
  return next;
}

void PageFetcher::Work(const std::stop_token& stop) {
  std::unique_lock lock(shared_.mutex);
  while (!stop.stop_requested()) {
    Clock::time_point due{};
    ShardFetch* shard = shared_.paused ? nullptr : NextDue(due);
    if (shard == nullptr) {
      shared_.wake.wait(lock, stop, [&] { return !shared_.paused && NextDue(due) != nullptr; });
      continue;
    }
    if (due > Clock::now()) {
      // Until it is due, or anything changes the choice (a page taken, a pause, a new shard).
      shared_.wake.wait_until(lock, stop, due, [&] {
        Clock::time_point now_due{};
        return (shared_.paused ? nullptr : NextDue(now_due)) != shard || now_due != due;
      });
      continue;
    }
    shard->in_flight = true;
    ++in_flight_;
    lock.unlock();
    FetchResult result = FetchOne(*shard);
    lock.lock();
    shard->in_flight = false;
    --in_flight_;
    shard->next_poll = result.next_poll;
    if (result.page) {
      FetchedPage& page = *result.page;
      if (page.shard_ended || page.error) shard->finished = true;
      // An empty page of an open shard only carries its lag; a queued page carries it soon.
      if (!page.records.empty() || shard->finished || shard->pages.empty()) {
        shard->pages.push_back(std::move(page));
      }
    }
    shared_.wake.notify_all();
  }
}

PageFetcher::FetchResult PageFetcher::FetchOne(ShardFetch& shard) {
  // Only this thread touches the shard's iterator, sequence and throttle count while in flight.
  const std::string& id = shard.shard_id;
  FetchedPage page;
  Clock::time_point next_poll = Clock::now();
  bool queue = true;
  try {
    if (!shard.iterator) {
      shard.iterator = shard.last_sequence
                           ? kinesis_.GetShardIterator(stream_, id, "AFTER_SEQUENCE_NUMBER",
                                                       *shard.last_sequence)
                           : kinesis_.GetShardIterator(stream_, id, "TRIM_HORIZON", std::nullopt);
    }
    auto result = kinesis_.GetRecords(*shard.iterator, options_.max_records_per_call);
    shard.throttled = 0;
    if (!result.records.empty()) shard.last_sequence = result.records.back().sequence_number;
    shard.iterator = std::move(result.next_shard_iterator);
    page.shard_ended = !shard.iterator;
    page.millis_behind_latest = result.millis_behind_latest;
    // Kinesis may answer with no records while more lie ahead (MillisBehindLatest > 0), and a
    // closed shard has nothing to wait for: only a caught-up open shard waits a poll interval.
    const bool caught_up = result.records.empty() && result.millis_behind_latest == 0 && shard.open;
    next_poll += caught_up ? options_.poll_interval : options_.min_get_records_interval;
    page.records = std::move(result.records);
  } catch (const RetryableError& e) {
    queue = false;
    if (e.code() == codes::kThrottled) {
      Logger()->debug("kinesis stream {}: shard {} throttled: {}", stream_, id, e.what());
      next_poll += options_.throttle_backoff.Delay(++shard.throttled);
    } else if (e.code() == codes::kExpiredCredentials && options_.credentials_provider) {
      // The provider renews them; the next request signs with what it returns.
      Logger()->info("kinesis stream {}: credentials expired reading shard {}; retrying", stream_,
                     id);
      next_poll += options_.throttle_backoff.Delay(++shard.throttled);
    } else if (e.code() == codes::kExpiredIterator) {
      Logger()->info("kinesis stream {}: iterator of shard {} expired; renewing", stream_, id);
      shard.iterator.reset();  // renewed after the last record fetched
    } else {
      page.error = std::current_exception();
      queue = true;
    }
  } catch (...) {
    page.error = std::current_exception();
  }
  FetchResult result{.page = std::nullopt, .next_poll = next_poll};
  if (queue) result.page = std::move(page);
  return result;
}

}  // namespace laredo::kinesis
