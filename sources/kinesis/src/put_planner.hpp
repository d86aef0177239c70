#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kinesis_client.hpp"
#include "record_encoder.hpp"

// Which records the publisher sends next, so that no key's records are ever written out of order
// however PutRecords fails. Pure bookkeeping: no I/O, no threads, no clock.
namespace laredo::kinesis::publish {

/// What one PutRecords request may carry.
struct PutLimits {
  std::size_t max_records = 500;
  std::size_t max_bytes = std::size_t{5} << 20;  // data plus partition keys
};

/// Outcome of completing one request.
struct CompletionSummary {
  std::size_t written = 0;
  std::size_t failed = 0;
  /// Error code of the first failed entry that retrying cannot fix ("" when none).
  std::string permanent_error;
  std::string permanent_message;
};

/// The ordering rule: at most one record per partition key is in flight at any time (across every
/// request, however many are outstanding), and it is always the oldest unwritten record of its
/// key. A record of key K is sent only after Kinesis acknowledged the record of K before it, so a
/// failed record can be retried without anything of K having been written after it. Records of
/// different keys go in parallel, in the order they were added.
///
/// Kinesis does not promise that entries of one PutRecords request are written in request order,
/// which is why two records of one key never share a request.
///
/// A fence record (a truncate: `EncodedRecord::fence`) orders against every key: it is sent
/// alone, once every record before it is written, and no record after it is sent until it is
/// written. Without that, a truncate and the inserts after it (other keys) could be written in
/// either order, on a stream of one shard too, and a consumer would empty the table after them.
///
/// Not thread-safe: the caller serialises access.
class PutPlanner {
 public:
  struct Record {
    std::uint64_t ticket = 0;
    contract::EncodedRecord record;
  };

  /// Queues a record of the change `ticket`; returns its id (increasing with each call).
  std::uint64_t Add(std::uint64_t ticket, contract::EncodedRecord record);

  /// The next request: records ready to send (no earlier record of their key unwritten, none of
  /// their key in flight), oldest first, within `limits`. Marks them in flight. Empty when none is
  /// ready.
  std::vector<std::uint64_t> Plan(const PutLimits& limits);

  [[nodiscard]] const Record& Get(std::uint64_t id) const { return records_.at(id); }

  /// The answers to a planned request, in its order. Written records leave; failed ones are ready
  /// again, still ahead of every later record of their key.
  CompletionSummary Complete(const std::vector<std::uint64_t>& ids,
                             const std::vector<aws::PutRecordsEntryResult>& results);

  /// A planned request failed as a whole (throttled, a 5xx, a lost connection): every record is
  /// ready again. Some may have been written anyway; they will be written once more (at least
  /// once), in order.
  void Abandon(const std::vector<std::uint64_t>& ids);

  /// The highest ticket at or below which every record added so far has been written, or
  /// nullopt when there is none.
  [[nodiscard]] std::optional<std::uint64_t> DurableTicket() const;

  /// Records not yet written (queued or in flight) and their bytes.
  [[nodiscard]] std::size_t Unwritten() const noexcept { return records_.size(); }
  [[nodiscard]] std::size_t UnwrittenBytes() const noexcept { return unwritten_bytes_; }
  [[nodiscard]] std::size_t InFlight() const noexcept { return in_flight_.size(); }
  /// The next `Plan` returns at least one record.
  [[nodiscard]] bool HasReady() const;

  /// True for per-entry errors that a later attempt may not get (throttling, internal failures).
  static bool IsRetryable(const std::string& error_code);

 private:
  void Written(std::uint64_t id);

  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Record> records_;
  // Per key, its unwritten records, oldest first; the front is ready or in flight.
  std::unordered_map<std::string, std::set<std::uint64_t>> by_key_;
  std::unordered_set<std::string> in_flight_;
  std::set<std::uint64_t> ready_;
  std::set<std::uint64_t> fences_;  // unwritten fence records
  std::multiset<std::uint64_t> unwritten_tickets_;
  std::optional<std::uint64_t> max_ticket_;
  std::size_t unwritten_bytes_ = 0;
};

}  // namespace laredo::kinesis::publish
