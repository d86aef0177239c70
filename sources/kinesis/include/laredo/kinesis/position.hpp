#pragma once

#include <map>
#include <string>
#include <string_view>

#include "laredo/kinesis/sequence_number.hpp"

namespace laredo::kinesis {

/// Where the S3 + Kinesis source stands: the snapshot (baseline) it started from and, per shard,
/// the sequence number of the last record reflected. A shard that is absent has had nothing read
/// yet: it is read from its start. Every change event carries the frontier of every shard as of
/// that event, so the positions of one run form a chain in which each frontier is at or after the
/// previous one on every shard.
///
/// This is the `std::any` payload of `laredo::Position` for the kinesis source.
/// Thread-safety: a value type.
struct StreamPosition {
  /// The manifest's `snapshot_id`. May be empty (no snapshot).
  std::string snapshot_id{};
  /// Shard id -> last sequence number reflected.
  std::map<std::string, SequenceNumber> shards{};

  /// Negative, zero or positive as `a` is before, at or after `b`. A total order:
  ///  1. different snapshot ids compare as their bytes. Positions of different snapshots never
  ///     share a chain (a new snapshot means a re-baseline, which starts a new chain); the order
  ///     between them only has to be total and stable. Time-sortable ids (RFC 3339, ULID) make it
  ///     meaningful as well.
  ///  2. otherwise the shard ids of both are walked in byte order; the first shard whose entries
  ///     differ decides, an absent shard being before every sequence number of that shard.
  /// Why this is right for a chain: if `a` is at or before `b` on every shard and they differ, the
  /// first shard where they differ has `a` absent or smaller, so `a < b`. The order extends the
  /// per-shard order and therefore agrees with the order of the chain.
  static int Compare(const StreamPosition& a, const StreamPosition& b);

  /// True when both share a snapshot and `later` is at or after `earlier` on every shard that
  /// `earlier` lists. What "never moves backwards" means for checkpoints.
  static bool Covers(const StreamPosition& later, const StreamPosition& earlier);

  /// Compact text, e.g. "v1:snap-42@shardId-000000000000=4959...,shardId-000000000001=4959...".
  /// The snapshot id and shard ids are percent-encoded (everything but A-Z a-z 0-9 - . _ ~),
  /// shards appear in byte order. `Parse(p.ToString()) == p` and, for any text `Parse` accepts,
  /// `Parse(t).ToString() == t`.
  [[nodiscard]] std::string ToString() const;

  /// Throws `laredo::DataError` (code "bad_position") for text `ToString` would not produce:
  /// wrong prefix, a missing '@', a bad escape, an empty or repeated or unsorted shard id, a
  /// sequence number that is not digits.
  static StreamPosition Parse(std::string_view text);

  friend bool operator==(const StreamPosition&, const StreamPosition&) = default;
};

}  // namespace laredo::kinesis
