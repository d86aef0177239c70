// A pipeline's failures: retries with backoff, dead letters and the error policy.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/pipeline.hpp"
#include "engine/retry.hpp"
#include "laredo/error.hpp"
#include "laredo/logging.hpp"

namespace laredo::engine {

Pipeline::Outcome Pipeline::WithRetry(std::string_view what, const std::function<void()>& attempt,
                                      const std::function<void(const std::string&, int)>& letter,
                                      const std::stop_token& stop, std::exception_ptr failed) {
  const auto& policy = options_.error_policy;
  RetryBudget budget(policy);
  for (;;) {
    std::string message;
    bool retryable = true;
    try {
      if (failed) {
        std::rethrow_exception(std::exchange(failed, nullptr));  // the first attempt's failure
      }
      attempt();
      if (budget.attempts() > 0) ClearRetryError();
      return Outcome::Done;
    } catch (const std::exception& e) {
      message = e.what();
      retryable = IsRetryable(e);
    }
    const auto delay = budget.Failed(retryable);
    if (!delay) {
      if (letter) letter(message, budget.attempts());
      if (policy.on_exhausted == ErrorAction::Skip && letter) {
        Logger()->error("pipeline {}: skipping {} after {} attempt(s): {}", id_, what,
                        budget.attempts(), message);
        observer_->OnError(id_, "skipped (dead-lettered): " + message, false);
        return Outcome::Skipped;
      }
      Fail(fmt::format("{} failed after {} attempt(s){}: {}", what, budget.attempts(),
                       retryable ? "" : " (not retryable)", message));
      return Outcome::Halt;
    }
    Logger()->warn("pipeline {}: {} failed (attempt {}), retrying in {} ms: {}", id_, what,
                   budget.attempts(), delay->count(), message);
    observer_->OnError(id_, message, true);
    {
      std::lock_guard lk(mu_);
      last_error_ = fmt::format("retrying {} (attempt {}): {}", what, budget.attempts(), message);
    }
    if (queue_.WaitHalted(stop, *delay)) return Outcome::Halt;
  }
}

void Pipeline::ClearRetryError() {
  std::lock_guard lk(mu_);
  if (last_error_.starts_with("retrying ")) last_error_.clear();
}

void Pipeline::Fail(const std::string& reason) {
  const auto action = options_.error_policy.on_exhausted;
  Logger()->error("pipeline {}: failed: {}", id_, reason);
  Halt(PipelineState::Error, reason);
  if (action == ErrorAction::Isolate || action == ErrorAction::Skip) {
    observer_->OnError(id_,
                       reason +
                           " (pipeline isolated: the others go on; it holds the source's ACK at "
                           "its last durable position, so a restart delivers the rest again)",
                       false);
  } else {
    observer_->OnError(id_, reason, false);
    upstream_->StopFromPipeline(id_ + ": " + reason, action == ErrorAction::StopEngine);
  }
  upstream_->PipelineStatusChanged();
}

}  // namespace laredo::engine
