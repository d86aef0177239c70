#pragma once

#include <stop_token>
#include <string>
#include <vector>

#include "contract.hpp"
#include "laredo/sync_source.hpp"
#include "s3_client.hpp"

namespace laredo::kinesis {

/// Where a snapshot's objects live: keys of the manifest are relative to `prefix` in `bucket`.
struct SnapshotLocation {
  std::string bucket{};
  std::string prefix{};  // empty or ending in '/'
  int list_page_size = 0;
};

/// Reads the table objects of a snapshot and delivers their rows to `on_row` on the calling
/// thread, in manifest order (table by table, object by object, line by line).
///
/// Listing and downloading run on a reader thread of their own, a bounded number of body pieces
/// ahead (8 of 256 KiB), so the network overlaps with decompression, parsing and the engine's
/// hand-off on the calling thread; a full hand-off stops the reader, so a slow target still holds
/// S3 back. Rows are built on the calling thread only (see snapshot_reader.cpp for why).
///
/// Returns false when `stop` was requested (the rows delivered so far are a partial baseline the
/// caller discards). A failure of the reader (an S3 error, a corrupt object, a bad line, naming
/// the object and line) is rethrown here after the rows before it; an exception of `on_row`
/// stops and joins the reader before it propagates.
///
/// Threading contract: `s3` and `decoder` are used from the reader thread while this runs; the
/// caller must not use `decoder` meanwhile (`S3Client` is thread-safe).
bool ReadSnapshot(std::stop_token stop, aws::S3Client& s3, const contract::Decoder& decoder,
                  const contract::Manifest& manifest, const std::vector<TableIdentifier>& tables,
                  const SnapshotLocation& location, const RowCallback& on_row);

}  // namespace laredo::kinesis
