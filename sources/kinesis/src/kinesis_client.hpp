#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aws_client.hpp"

// The Kinesis Data Streams operations the source needs, plus the few the tests use to produce.
namespace laredo::kinesis::aws {

struct ShardInfo {
  std::string shard_id;
  std::string parent_shard_id;           // "" when none
  std::string adjacent_parent_shard_id;  // "" when none (set for a merge's child)
  std::string starting_hash_key;
  std::string ending_hash_key;
  std::string starting_sequence_number;
  std::string ending_sequence_number;  // "" while the shard is open
};

struct KinesisRecord {
  std::string sequence_number;
  std::string partition_key;
  std::string data;  // decoded bytes
};

struct GetRecordsResult {
  std::vector<KinesisRecord> records;
  /// Absent once the shard is closed and read to its end.
  std::optional<std::string> next_shard_iterator;
  std::int64_t millis_behind_latest = 0;
};

struct PutRecordResult {
  std::string shard_id;
  std::string sequence_number;
};

/// One entry of a PutRecords request.
struct PutRecordsEntry {
  std::string partition_key;
  std::string data;  // raw bytes; base64 on the wire
};

/// What PutRecords answered for one entry: a sequence number, or an error code such as
/// "ProvisionedThroughputExceededException" or "InternalFailure" (the record was not written).
struct PutRecordsEntryResult {
  std::string shard_id;
  std::string sequence_number;
  std::string error_code;  // "" when written
  std::string error_message;

  [[nodiscard]] bool Written() const noexcept { return error_code.empty(); }
};

/// The per-entry results of a PutRecords response document, in request order. Pure. Throws
/// `RetryableError` ("bad_response") when the count differs from `entries` or an entry is neither
/// written nor failed.
std::vector<PutRecordsEntryResult> ParsePutRecordsResponse(const nlohmann::json& response,
                                                           std::size_t entries);

/// Thread-safe: every call is one independent request.
class KinesisClient {
 public:
  explicit KinesisClient(ServiceConfig config);

  /// "CREATING", "ACTIVE", ...; throws FatalError "not_found" for an unknown stream.
  std::string DescribeStreamStatus(const std::string& stream);
  /// Every shard, open and closed, following NextToken pages.
  std::vector<ShardInfo> ListShards(const std::string& stream);
  /// `type` "TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER" or "AFTER_SEQUENCE_NUMBER".
  std::string GetShardIterator(const std::string& stream, const std::string& shard_id,
                               const std::string& type,
                               const std::optional<std::string>& sequence_number);
  GetRecordsResult GetRecords(const std::string& iterator, int limit);

  // For tests and tools that produce.
  void CreateStream(const std::string& stream, int shard_count);
  void DeleteStream(const std::string& stream);
  /// `explicit_hash_key` (a decimal 128-bit hash key) picks the shard whose range holds it instead
  /// of the partition key's hash; the publisher's barrier records use it. Default: none.
  PutRecordResult PutRecord(const std::string& stream, const std::string& partition_key,
                            const std::string& data, const std::string& explicit_hash_key = {});
  /// One PutRecords call of up to 500 entries. Per-entry failures are in the results, not retried;
  /// a failure of the whole request throws (see `ThrowJsonError`).
  std::vector<PutRecordsEntryResult> PutRecordsOnce(const std::string& stream,
                                                    const std::vector<PutRecordsEntry>& entries);
  /// For tests: up to 500 (partition key, data) pairs; records the server rejected (throttled)
  /// are sent again until all are in, which may reorder records of one key (the publisher uses
  /// `PutRecordsOnce` and orders retries itself). Returns each record's result, in input order.
  std::vector<PutRecordResult> PutRecords(
      const std::string& stream, const std::vector<std::pair<std::string, std::string>>& records);
  void SplitShard(const std::string& stream, const std::string& shard_id,
                  const std::string& new_starting_hash_key);
  void MergeShards(const std::string& stream, const std::string& shard_id,
                   const std::string& adjacent_shard_id);

 private:
  JsonApi api_;
};

}  // namespace laredo::kinesis::aws
