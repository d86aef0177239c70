#include "kinesis_client.hpp"

#include <fmt/format.h>

#include "base64.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::aws {
namespace {

using nlohmann::json;

std::string Str(const json& doc, const char* key) {
  const auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

KinesisClient::KinesisClient(ServiceConfig config)
    : api_(std::move(config), "Kinesis_20131202", "application/x-amz-json-1.1") {}

std::string KinesisClient::DescribeStreamStatus(const std::string& stream) {
  const json out = api_.Call("DescribeStreamSummary", {{"StreamName", stream}});
  return Str(out.value("StreamDescriptionSummary", json::object()), "StreamStatus");
}

std::vector<ShardInfo> KinesisClient::ListShards(const std::string& stream) {
  std::vector<ShardInfo> shards;
  json input = {{"StreamName", stream}};
  while (true) {
    const json out = api_.Call("ListShards", input);
    for (const json& s : out.value("Shards", json::array())) {
      ShardInfo info;
      info.shard_id = Str(s, "ShardId");
      info.parent_shard_id = Str(s, "ParentShardId");
      info.adjacent_parent_shard_id = Str(s, "AdjacentParentShardId");
      const json range = s.value("HashKeyRange", json::object());
      info.starting_hash_key = Str(range, "StartingHashKey");
      info.ending_hash_key = Str(range, "EndingHashKey");
      const json seq = s.value("SequenceNumberRange", json::object());
      info.starting_sequence_number = Str(seq, "StartingSequenceNumber");
      info.ending_sequence_number = Str(seq, "EndingSequenceNumber");
      if (info.shard_id.empty()) {
        throw RetryableError(codes::kBadResponse, "kinesis ListShards: a shard without ShardId");
      }
      shards.push_back(std::move(info));
    }
    const std::string next = Str(out, "NextToken");
    if (next.empty()) break;
    // A page token replaces the stream name (the API rejects both together).
    input = {{"NextToken", next}};
  }
  return shards;
}

std::string KinesisClient::GetShardIterator(const std::string& stream, const std::string& shard_id,
                                            const std::string& type,
                                            const std::optional<std::string>& sequence_number) {
  json input = {{"StreamName", stream}, {"ShardId", shard_id}, {"ShardIteratorType", type}};
  if (sequence_number) input["StartingSequenceNumber"] = *sequence_number;
  const json out = api_.Call("GetShardIterator", input);
  std::string iterator = Str(out, "ShardIterator");
  if (iterator.empty()) {
    throw RetryableError(codes::kBadResponse,
                         "kinesis GetShardIterator: no ShardIterator returned");
  }
  return iterator;
}

GetRecordsResult KinesisClient::GetRecords(const std::string& iterator, int limit) {
  const json out = api_.Call("GetRecords", {{"ShardIterator", iterator}, {"Limit", limit}});
  GetRecordsResult result;
  for (const json& r : out.value("Records", json::array())) {
    KinesisRecord record;
    record.sequence_number = Str(r, "SequenceNumber");
    record.partition_key = Str(r, "PartitionKey");
    try {
      record.data = base64::Decode(Str(r, "Data"));
    } catch (const DataError&) {
      // Kept as received; the contract decoder reports it as a malformed record.
      record.data = Str(r, "Data");
    }
    result.records.push_back(std::move(record));
  }
  if (const auto it = out.find("NextShardIterator"); it != out.end() && it->is_string()) {
    result.next_shard_iterator = it->get<std::string>();
  }
  if (const auto it = out.find("MillisBehindLatest"); it != out.end() && it->is_number()) {
    result.millis_behind_latest = it->get<std::int64_t>();
  }
  return result;
}

void KinesisClient::CreateStream(const std::string& stream, int shard_count) {
  api_.Call("CreateStream", {{"StreamName", stream}, {"ShardCount", shard_count}});
}

void KinesisClient::DeleteStream(const std::string& stream) {
  api_.Call("DeleteStream", {{"StreamName", stream}});
}

PutRecordResult KinesisClient::PutRecord(const std::string& stream,
                                         const std::string& partition_key, const std::string& data,
                                         const std::string& explicit_hash_key) {
  json input = {
      {"StreamName", stream}, {"PartitionKey", partition_key}, {"Data", base64::Encode(data)}};
  if (!explicit_hash_key.empty()) input["ExplicitHashKey"] = explicit_hash_key;
  const json out = api_.Call("PutRecord", input);
  return {Str(out, "ShardId"), Str(out, "SequenceNumber")};
}

std::vector<PutRecordsEntryResult> ParsePutRecordsResponse(const json& response,
                                                           std::size_t entries) {
  const auto it = response.find("Records");
  if (it == response.end() || !it->is_array() || it->size() != entries) {
    throw RetryableError(codes::kBadResponse,
                         "kinesis PutRecords: result count differs from input");
  }
  std::vector<PutRecordsEntryResult> results;
  results.reserve(entries);
  for (const json& answer : *it) {
    PutRecordsEntryResult result{.shard_id = Str(answer, "ShardId"),
                                 .sequence_number = Str(answer, "SequenceNumber"),
                                 .error_code = Str(answer, "ErrorCode"),
                                 .error_message = Str(answer, "ErrorMessage")};
    if (result.Written() && result.sequence_number.empty()) {
      throw RetryableError(
          codes::kBadResponse,
          "kinesis PutRecords: an entry with neither SequenceNumber nor ErrorCode");
    }
    results.push_back(std::move(result));
  }
  return results;
}

std::vector<PutRecordsEntryResult> KinesisClient::PutRecordsOnce(
    const std::string& stream, const std::vector<PutRecordsEntry>& entries) {
  json records = json::array();
  for (const auto& entry : entries) {
    records.push_back(
        {{"PartitionKey", entry.partition_key}, {"Data", base64::Encode(entry.data)}});
  }
  const json out = api_.Call("PutRecords", {{"StreamName", stream}, {"Records", records}});
  return ParsePutRecordsResponse(out, entries.size());
}

std::vector<PutRecordResult> KinesisClient::PutRecords(
    const std::string& stream, const std::vector<std::pair<std::string, std::string>>& records) {
  std::vector<PutRecordResult> results(records.size());
  std::vector<std::size_t> pending(records.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  while (!pending.empty()) {
    std::vector<PutRecordsEntry> entries;
    for (const std::size_t i : pending) entries.push_back({records[i].first, records[i].second});
    const auto answers = PutRecordsOnce(stream, entries);
    std::vector<std::size_t> failed;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      if (!answers[k].Written()) {
        failed.push_back(pending[k]);
      } else {
        results[pending[k]] = {answers[k].shard_id, answers[k].sequence_number};
      }
    }
    pending = std::move(failed);
  }
  return results;
}

void KinesisClient::SplitShard(const std::string& stream, const std::string& shard_id,
                               const std::string& new_starting_hash_key) {
  api_.Call("SplitShard", {{"StreamName", stream},
                           {"ShardToSplit", shard_id},
                           {"NewStartingHashKey", new_starting_hash_key}});
}

void KinesisClient::MergeShards(const std::string& stream, const std::string& shard_id,
                                const std::string& adjacent_shard_id) {
  api_.Call("MergeShards", {{"StreamName", stream},
                            {"ShardToMerge", shard_id},
                            {"AdjacentShardToMerge", adjacent_shard_id}});
}

}  // namespace laredo::kinesis::aws
