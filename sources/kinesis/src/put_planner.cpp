#include "put_planner.hpp"

namespace laredo::kinesis::publish {

std::uint64_t PutPlanner::Add(std::uint64_t ticket, contract::EncodedRecord record) {
  const std::uint64_t id = next_id_++;
  unwritten_bytes_ += record.Bytes();
  auto& queue = by_key_[record.partition_key];
  queue.insert(queue.end(), id);
  // The oldest record of a key with nothing in flight can go at once.
  if (queue.size() == 1) ready_.insert(id);
  if (record.fence) fences_.insert(id);
  unwritten_tickets_.insert(ticket);
  if (!max_ticket_ || ticket > *max_ticket_) max_ticket_ = ticket;
  records_.emplace(id, Record{ticket, std::move(record)});
  return id;
}

std::vector<std::uint64_t> PutPlanner::Plan(const PutLimits& limits) {
  std::vector<std::uint64_t> ids;
  const std::optional<std::uint64_t> fence =
      fences_.empty() ? std::nullopt : std::optional(*fences_.begin());
  if (fence && records_.begin()->first == *fence) {
    // Everything before it is written: it goes alone.
    if (!in_flight_.empty() || !ready_.contains(*fence)) return ids;
    ready_.erase(*fence);
    in_flight_.insert(records_.at(*fence).record.partition_key);
    ids.push_back(*fence);
    return ids;
  }
  std::size_t bytes = 0;
  for (auto it = ready_.begin(); it != ready_.end() && ids.size() < limits.max_records;) {
    if (fence && *it > *fence) break;  // after the fence: waits until it is written
    if (fence && *it == *fence) {
      ++it;  // records before it are still unwritten
      continue;
    }
    const Record& r = records_.at(*it);
    // Oldest first: a record that does not fit waits for the next request rather than being
    // overtaken by smaller later ones.
    if (bytes + r.record.Bytes() > limits.max_bytes && !ids.empty()) break;
    bytes += r.record.Bytes();
    in_flight_.insert(r.record.partition_key);
    ids.push_back(*it);
    it = ready_.erase(it);
  }
  return ids;
}

bool PutPlanner::HasReady() const {
  if (ready_.empty()) return false;
  if (fences_.empty()) return true;
  const std::uint64_t fence = *fences_.begin();
  if (records_.begin()->first == fence) return in_flight_.empty() && ready_.contains(fence);
  return *ready_.begin() < fence;  // a record before the fence can go
}

void PutPlanner::Written(std::uint64_t id) {
  const auto found = records_.find(id);
  if (found == records_.end()) return;
  const std::string& key = found->second.record.partition_key;
  in_flight_.erase(key);
  if (const auto queue = by_key_.find(key); queue != by_key_.end()) {
    std::set<std::uint64_t>& ids = queue->second;
    ids.erase(id);  // it was the oldest: only those are sent
    if (ids.empty()) {
      by_key_.erase(queue);
    } else {
      ready_.insert(*ids.begin());
    }
  }
  if (const auto ticket = unwritten_tickets_.find(found->second.ticket);
      ticket != unwritten_tickets_.end()) {
    unwritten_tickets_.erase(ticket);
  }
  unwritten_bytes_ -= found->second.record.Bytes();
  fences_.erase(id);
  records_.erase(found);
}

CompletionSummary PutPlanner::Complete(const std::vector<std::uint64_t>& ids,
                                       const std::vector<aws::PutRecordsEntryResult>& results) {
  CompletionSummary summary;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i < results.size() && results[i].Written()) {
      Written(ids[i]);
      ++summary.written;
      continue;
    }
    ++summary.failed;
    const Record& r = records_.at(ids[i]);
    in_flight_.erase(r.record.partition_key);
    ready_.insert(ids[i]);
    if (i < results.size() && !IsRetryable(results[i].error_code) &&
        summary.permanent_error.empty()) {
      summary.permanent_error = results[i].error_code;
      summary.permanent_message = results[i].error_message;
    }
  }
  return summary;
}

void PutPlanner::Abandon(const std::vector<std::uint64_t>& ids) {
  for (const std::uint64_t id : ids) {
    in_flight_.erase(records_.at(id).record.partition_key);
    ready_.insert(id);
  }
}

std::optional<std::uint64_t> PutPlanner::DurableTicket() const {
  if (unwritten_tickets_.empty()) return max_ticket_;
  const std::uint64_t oldest = *unwritten_tickets_.begin();
  if (oldest == 0) return std::nullopt;
  return oldest - 1;
}

bool PutPlanner::IsRetryable(const std::string& error_code) {
  return error_code == "ProvisionedThroughputExceededException" ||
         error_code == "InternalFailure" || error_code == "KMSThrottlingException" ||
         error_code == "ServiceUnavailable";
}

}  // namespace laredo::kinesis::publish
