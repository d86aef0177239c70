#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kinesis_client.hpp"
#include "laredo/backoff.hpp"
#include "laredo/kinesis/publisher.hpp"
#include "put_planner.hpp"

// The publisher's transport loop: a few threads that take requests from the `PutPlanner`, send them
// with PutRecords, feed the answers back and report durability. Private to laredo::kinesis.
namespace laredo::kinesis::publish {

struct SenderConfig {
  std::string stream;
  PutLimits limits;
  int threads = 4;
  std::size_t max_buffered_records = 100'000;
  std::size_t max_buffered_bytes = std::size_t{64} << 20;
  Backoff backoff;
};

/// Thread-safe.
class PutSender {
 public:
  PutSender(SenderConfig config, std::unique_ptr<aws::KinesisClient> client);
  /// Stops and joins the threads; unwritten records are dropped (never reported durable).
  ~PutSender();
  PutSender(const PutSender&) = delete;
  PutSender& operator=(const PutSender&) = delete;

  /// Queues the records of one change (all or none), waiting until `deadline` for room in the
  /// buffer; false when there was none in time. Throws the permanent failure, if one happened.
  bool Enqueue(std::uint64_t ticket, std::vector<contract::EncodedRecord>& records,
               std::chrono::steady_clock::time_point deadline);
  void AddReporter(DurabilityReporter* reporter);
  /// Nothing accepted is unwritten.
  [[nodiscard]] bool AllWritten() const;
  /// Waits for `AllWritten`; false on timeout or once a permanent failure stopped sending.
  bool AwaitAllWritten(std::chrono::milliseconds timeout);
  /// Waits until at most `records` accepted records are unwritten; false on timeout or failure.
  bool AwaitUnwrittenAtMost(std::size_t records, std::chrono::milliseconds timeout);
  /// Rethrows the permanent failure that stopped sending, if any.
  void ThrowIfFailed() const;
  [[nodiscard]] Publisher::Stats GetStats() const;

 private:
  void Run(const std::stop_token& stop);
  // Called with `mu_` held after a request's outcome; `failed` says whether to back off.
  void AfterAttempt(bool failed, std::size_t written);

  const SenderConfig config_;
  const std::unique_ptr<aws::KinesisClient> client_;
  mutable std::mutex mu_;
  std::condition_variable_any work_cv_;  // ready records, backoff over, stop
  std::condition_variable room_cv_;      // room in the buffer, records written, failure
  PutPlanner planner_;                   // guarded by mu_
  std::vector<DurabilityReporter*> reporters_;
  std::exception_ptr failure_;
  int consecutive_failures_ = 0;
  std::chrono::steady_clock::time_point not_before_{};
  Publisher::Stats stats_;
  std::vector<std::jthread> threads_;  // last: joined before the rest goes
};

}  // namespace laredo::kinesis::publish
