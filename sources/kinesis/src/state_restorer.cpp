#include "state_restorer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <set>
#include <thread>

#include "contract.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "snapshot_reader.hpp"

namespace laredo::kinesis::publish {
namespace {

constexpr int kPageRecords = 10000;
constexpr std::chrono::milliseconds kEmptyPagePause{200};

// A read of the stream, retried with `backoff` while it is throttled or the network fails.
template <typename Call>
auto Retrying(const Backoff& backoff, const std::stop_token& stop, Call&& call) {
  for (int attempt = 1;; ++attempt) {
    try {
      return call();
    } catch (const RetryableError& e) {
      if (stop.stop_requested() || attempt >= 20) throw;
      Logger()->warn("kinesis publisher: restoring, a read failed (attempt {}), retrying: {}",
                     attempt, e.what());
      std::this_thread::sleep_for(backoff.Delay(attempt));
    }
  }
}

// Applies the change records of `shard` after `from` (from its start when absent) up to `until`
// (to its end when absent).
std::uint64_t ReplayShard(aws::KinesisClient& kinesis, const std::string& stream,
                          const std::string& shard, const std::optional<std::string>& from,
                          const std::optional<std::string>& until, const contract::Decoder& decoder,
                          const Backoff& backoff, ReplicaState& state,
                          const std::stop_token& stop) {
  std::string iterator = Retrying(backoff, stop, [&] {
    return kinesis.GetShardIterator(stream, shard, from ? "AFTER_SEQUENCE_NUMBER" : "TRIM_HORIZON",
                                    from);
  });
  const std::optional<SequenceNumber> end =
      until ? std::optional<SequenceNumber>(SequenceNumber(*until)) : std::nullopt;
  std::uint64_t applied = 0;
  while (!stop.stop_requested()) {
    const auto page =
        Retrying(backoff, stop, [&] { return kinesis.GetRecords(iterator, kPageRecords); });
    for (const auto& record : page.records) {
      const SequenceNumber seq(record.sequence_number);
      if (end && *end < seq) return applied;
      const bool last = end && !(seq < *end);  // the barrier itself
      contract::DecodedRecord decoded;
      try {
        decoded = decoder.DecodeRecord(record.data);
      } catch (const DataError& e) {
        throw DataError(e.code(), fmt::format("restoring from stream {}: shard {} record {}: {}",
                                              stream, shard, record.sequence_number, e.what()));
      }
      if (decoded.control) {
        if (last) return applied;
        continue;
      }
      const ChangeEvent& event = decoded.event;
      const TargetChange change{
          .action = event.action,
          .row = event.action == ChangeAction::Insert || event.action == ChangeAction::Update
                     ? &event.new_values
                     : nullptr,
          .identity = event.old_values.empty() ? nullptr : &event.old_values};
      state.Apply(event.table, change);
      ++applied;
      if (last) return applied;
    }
    if (!page.next_shard_iterator) return applied;  // a closed shard read to its end
    // An open shard ends at its barrier; one without (`until` absent) ends when read up.
    if (!end && page.records.empty()) return applied;
    iterator = *page.next_shard_iterator;
    // Kinesis allows 5 reads per second per shard: an empty page before the barrier waits a
    // moment before the next (the barrier is written; it shows up).
    if (page.records.empty()) std::this_thread::sleep_for(kEmptyPagePause);
  }
  throw RetryableError(codes::kSnapshotFailed, "restoring stopped: the publisher is closing");
}

RestoreSummary Restore(const SnapshotBucket& bucket, aws::KinesisClient& kinesis,
                       const std::string& stream, const std::map<std::string, std::string>& until,
                       const Backoff& backoff, const contract::Manifest& manifest,
                       const contract::Decoder& decoder, const std::vector<TableIdentifier>& tables,
                       ReplicaState& state, const std::stop_token& stop);

}  // namespace

RestoreSummary RestoreState(const SnapshotBucket& bucket, aws::KinesisClient& kinesis,
                            const std::string& stream,
                            const std::map<std::string, std::string>& until, const Backoff& backoff,
                            ReplicaState& state, const std::stop_token& stop) {
  std::string text;
  try {
    text = bucket.s3->GetObjectText(bucket.bucket, bucket.prefix + "manifest.json");
  } catch (const FatalError& e) {
    if (e.code() != codes::kNotFound) throw;
    throw Error(codes::kSnapshotNotReady,
                fmt::format("nothing to restore from: no manifest in s3://{}/{} ({})",
                            bucket.bucket, bucket.prefix, e.what()));
  }
  const contract::Manifest manifest = contract::ParseManifest(text);
  if (manifest.stream != stream) {
    throw Error(codes::kSnapshotNotReady,
                fmt::format("the manifest in s3://{}/{} is of stream {}, not {}", bucket.bucket,
                            bucket.prefix, manifest.stream, stream));
  }
  // The publisher's own columns read both the rows and the records.
  const auto columns = state.Columns();
  const contract::Decoder decoder(columns);
  std::vector<TableIdentifier> tables;
  for (const auto& [table, cols] : columns) {
    if (!manifest.tables.contains(table)) continue;
    tables.push_back(table);
    state.BeginBaseline(table);
  }
  try {
    return Restore(bucket, kinesis, stream, until, backoff, manifest, decoder, tables, state, stop);
  } catch (...) {
    // Nothing half-restored stays: the tables are unloaded again, for the next attempt.
    for (const auto& table : tables) state.AbandonBaseline(table);
    throw;
  }
}

namespace {

RestoreSummary Restore(const SnapshotBucket& bucket, aws::KinesisClient& kinesis,
                       const std::string& stream, const std::map<std::string, std::string>& until,
                       const Backoff& backoff, const contract::Manifest& manifest,
                       const contract::Decoder& decoder, const std::vector<TableIdentifier>& tables,
                       ReplicaState& state, const std::stop_token& stop) {
  RestoreSummary summary{.from_snapshot = manifest.snapshot_id};
  const SnapshotLocation location{.bucket = bucket.bucket, .prefix = bucket.prefix};
  const bool read = ReadSnapshot(stop, *bucket.s3, decoder, manifest, tables, location,
                                 [&](const TableIdentifier& table, Row row) {
                                   state.ApplyBaselineRow(table, std::move(row));
                                   ++summary.rows;
                                 });
  if (!read) throw RetryableError(codes::kSnapshotFailed, "restoring stopped");

  // Shards in an order where every parent comes before its children.
  const auto shards = Retrying(backoff, stop, [&] { return kinesis.ListShards(stream); });
  std::set<std::string> listed;
  for (const auto& s : shards) listed.insert(s.shard_id);
  std::set<std::string> done;
  while (done.size() < shards.size()) {
    const std::size_t before = done.size();
    for (const auto& s : shards) {
      if (done.contains(s.shard_id)) continue;
      const std::array<const std::string*, 2> parents{&s.parent_shard_id,
                                                      &s.adjacent_parent_shard_id};
      const bool parents_done = std::all_of(parents.begin(), parents.end(), [&](const auto* p) {
        return p->empty() || !listed.contains(*p) || done.contains(*p);
      });
      if (!parents_done) continue;
      done.insert(s.shard_id);
      const auto at = manifest.stream_position.find(s.shard_id);
      const std::optional<std::string> from =
          at == manifest.stream_position.end() ? std::nullopt
                                               : std::optional<std::string>(at->second.ToString());
      if (from && !s.ending_sequence_number.empty() &&
          !(SequenceNumber(*from) < SequenceNumber(s.ending_sequence_number))) {
        continue;  // closed and fully reflected
      }
      const auto to = until.find(s.shard_id);
      summary.records +=
          ReplayShard(kinesis, stream, s.shard_id, from,
                      to == until.end() ? std::nullopt : std::optional<std::string>(to->second),
                      decoder, backoff, state, stop);
    }
    if (done.size() == before) {
      throw RetryableError(codes::kSnapshotFailed, "restoring: the shards' parents form a cycle");
    }
  }
  for (const auto& table : tables) state.CompleteBaseline(table);
  return summary;
}

}  // namespace

}  // namespace laredo::kinesis::publish
