#include "engine/acker.hpp"

#include <spdlog/spdlog.h>

#include "laredo/backoff.hpp"
#include "laredo/error.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

Acker::Acker(std::string source_id, SyncSource& source, std::vector<Pipeline*> pipelines,
             const PublishedFrontier& frontier, std::shared_ptr<EngineObserver> observer,
             std::chrono::milliseconds interval)
    : source_id_(std::move(source_id)),
      source_(source),
      pipelines_(std::move(pipelines)),
      frontier_(frontier),
      observer_(std::move(observer)),
      interval_(interval) {}

void Acker::Start(std::function<void()> after_each) {
  after_each_ = std::move(after_each);
  thread_ = std::jthread([this](const std::stop_token& stop) { Loop(stop); });
}

void Acker::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void Acker::Loop(const std::stop_token& stop) {
  while (SleepFor(stop, interval_)) {
    TryAck();
    if (after_each_) after_each_();
  }
}

void Acker::StartAt(const Position& position, std::string text) {
  std::lock_guard lk(mu_);
  last_acked_ = position;
  last_acked_text_ = std::move(text);
}

Position Acker::LastAcked() const {
  std::lock_guard lk(mu_);
  return last_acked_;
}

std::string Acker::LastAckedText() const {
  std::lock_guard lk(mu_);
  return last_acked_text_;
}

void Acker::TryAck() {
  std::lock_guard lk(mu_);
  const AckPoint published = frontier_.Get();  // first: see PublishedFrontier
  std::vector<std::optional<AckPoint>> marks;
  marks.reserve(pipelines_.size());
  for (Pipeline* p : pipelines_) marks.emplace_back(p->Watermark(published));
  const auto low = MinimumAckPoint(marks);
  // The same number may come with a later position (a snapshot at a progress report): compared
  // below.
  if (!low || low->seq < last_acked_seq_) return;
  const Position& position = low->position;
  if (!position.has_value()) return;
  try {
    if (last_acked_.has_value() && source_.ComparePositions(position, last_acked_) <= 0) {
      last_acked_seq_ = low->seq;  // not an advance (e.g. re-baseline at an older point)
      return;
    }
    source_.Ack(position);
    last_acked_ = position;
    last_acked_seq_ = low->seq;
    last_acked_text_ = source_.PositionToString(position);
  } catch (const std::exception& e) {
    // Reported once per distinct failure, not at every interval; the next interval tries again
    // (a renewed credential or a healed store may let it through).
    const bool retryable = IsRetryable(e);
    if (last_error_ != e.what()) {
      last_error_ = e.what();
      if (retryable) {
        Logger()->warn("source {}: Ack failed (will retry): {}", source_id_, e.what());
      } else {
        Logger()->error(
            "source {}: Ack failed (not retryable): {}; the source cannot release anything until "
            "this is fixed",
            source_id_, e.what());
      }
      observer_->OnError(source_id_, std::string("Ack failed: ") + e.what(), retryable);
    }
    return;
  }
  last_error_.clear();
  observer_->OnAckAdvanced(source_id_, last_acked_, last_acked_text_);
}

}  // namespace laredo::engine
