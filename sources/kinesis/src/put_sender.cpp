#include "put_sender.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"

namespace laredo::kinesis::publish {

PutSender::PutSender(SenderConfig config, std::unique_ptr<aws::KinesisClient> client)
    : config_(std::move(config)), client_(std::move(client)) {
  for (int i = 0; i < config_.threads; ++i) {
    threads_.emplace_back([this](const std::stop_token& stop) { Run(stop); });
  }
}

PutSender::~PutSender() {
  for (auto& thread : threads_) thread.request_stop();
  work_cv_.notify_all();
  threads_.clear();  // joins
}

bool PutSender::Enqueue(std::uint64_t ticket, std::vector<contract::EncodedRecord>& records,
                        std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lk(mu_);
  std::size_t bytes = 0;
  for (const auto& r : records) bytes += r.Bytes();
  // An empty buffer takes any change, so that one larger than the limits still goes.
  const auto room = [&] {
    return failure_ || planner_.Unwritten() == 0 ||
           (planner_.Unwritten() + records.size() <= config_.max_buffered_records &&
            planner_.UnwrittenBytes() + bytes <= config_.max_buffered_bytes);
  };
  if (!room_cv_.wait_until(lk, deadline, room)) return false;
  if (failure_) std::rethrow_exception(failure_);
  for (auto& r : records) planner_.Add(ticket, std::move(r));
  lk.unlock();
  work_cv_.notify_all();
  return true;
}

void PutSender::AddReporter(DurabilityReporter* reporter) {
  std::lock_guard lk(mu_);
  for (const auto* known : reporters_) {
    if (known == reporter) return;
  }
  reporters_.push_back(reporter);
}

bool PutSender::AllWritten() const {
  std::lock_guard lk(mu_);
  return planner_.Unwritten() == 0;
}

bool PutSender::AwaitAllWritten(std::chrono::milliseconds timeout) {
  return AwaitUnwrittenAtMost(0, timeout);
}

bool PutSender::AwaitUnwrittenAtMost(std::size_t records, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  room_cv_.wait_for(lk, timeout, [&] { return failure_ || planner_.Unwritten() <= records; });
  return !failure_ && planner_.Unwritten() <= records;
}

void PutSender::ThrowIfFailed() const {
  std::lock_guard lk(mu_);
  if (failure_) std::rethrow_exception(failure_);
}

Publisher::Stats PutSender::GetStats() const {
  std::lock_guard lk(mu_);
  Publisher::Stats stats = stats_;
  stats.records_unwritten = planner_.Unwritten();
  return stats;
}

void PutSender::AfterAttempt(bool failed, std::size_t written) {
  ++stats_.requests;
  stats_.records_written += written;
  if (failed) {
    ++consecutive_failures_;
    not_before_ = std::chrono::steady_clock::now() + config_.backoff.Delay(consecutive_failures_);
  } else {
    consecutive_failures_ = 0;
  }
  if (written > 0) {
    // Reported under `mu_`, so no record can be queued between computing the ticket and the
    // report: a pipeline's batch is noted applied only after its records were queued, so the
    // report never confirms a batch it did not account for.
    if (const auto ticket = planner_.DurableTicket()) {
      for (auto* reporter : reporters_) reporter->Durable(*ticket);
    }
  }
  room_cv_.notify_all();
  work_cv_.notify_all();  // keys freed, or the backoff deadline moved
}

void PutSender::Run(const std::stop_token& stop) {
  std::unique_lock lk(mu_);
  while (!stop.stop_requested()) {
    if (failure_ || !planner_.HasReady()) {
      work_cv_.wait(lk, stop, [&] { return !failure_ && planner_.HasReady(); });
      continue;
    }
    if (std::chrono::steady_clock::now() < not_before_) {
      // A copy: the wait reads its deadline while the lock is released, when another sender may
      // move `not_before_` (ThreadSanitizer found the reference racing with AfterAttempt).
      const auto until = not_before_;
      work_cv_.wait_until(lk, stop, until, [] { return false; });
      continue;
    }
    const std::vector<std::uint64_t> ids = planner_.Plan(config_.limits);
    if (ids.empty()) continue;  // HasReady promised one: never send an empty request
    std::vector<aws::PutRecordsEntry> entries;
    entries.reserve(ids.size());
    for (const auto id : ids) {
      const auto& record = planner_.Get(id).record;
      entries.push_back({record.partition_key, record.data});
    }
    lk.unlock();
    std::vector<aws::PutRecordsEntryResult> results;
    std::exception_ptr error;
    try {
      results = client_->PutRecordsOnce(config_.stream, entries);
    } catch (...) {
      error = std::current_exception();
    }
    lk.lock();
    if (error) {
      planner_.Abandon(ids);
      ++stats_.requests_failed;
      try {
        std::rethrow_exception(error);
      } catch (const RetryableError& e) {
        Logger()->warn(
            "kinesis publisher {}: PutRecords of {} records failed (attempt {}), "
            "retrying: {}",
            config_.stream, ids.size(), consecutive_failures_ + 1, e.what());
      } catch (const std::exception& e) {
        Logger()->error("kinesis publisher {}: PutRecords failed for good, sending stops: {}",
                        config_.stream, e.what());
        failure_ = error;
      }
      AfterAttempt(true, 0);
      continue;
    }
    const CompletionSummary summary = planner_.Complete(ids, results);
    stats_.records_retried += summary.failed;
    if (!summary.permanent_error.empty()) {
      Logger()->error("kinesis publisher {}: Kinesis rejected a record ({}), sending stops",
                      config_.stream, summary.permanent_error);
      failure_ = std::make_exception_ptr(FatalError(
          codes::kPutRejected,
          fmt::format("kinesis stream {}: PutRecords rejected a record: {}: {}", config_.stream,
                      summary.permanent_error, summary.permanent_message)));
    } else if (summary.failed > 0) {
      Logger()->debug("kinesis publisher {}: {} of {} records throttled or failed; retrying",
                      config_.stream, summary.failed, ids.size());
    }
    AfterAttempt(summary.failed > 0, summary.written);
  }
}

}  // namespace laredo::kinesis::publish
