#include "snapshot_writer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "contract.hpp"
#include "gzip_sink.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "laredo/snapshot/metadata.hpp"
#include "record_encoder.hpp"
#include "s3_snapshot_files.hpp"

namespace laredo::kinesis::publish {
namespace {

using nlohmann::json;

constexpr const char* kManifest = "manifest.json";

json ColumnsJson(const std::vector<ColumnDefinition>& columns) {
  json out = json::array();
  for (const auto& c : columns) {
    json column = {{"name", c.name},
                   {"type", c.type},
                   {"nullable", c.nullable},
                   {"primary_key", c.primary_key}};
    if (c.primary_key && c.primary_key_ordinal > 0) {
      column["primary_key_ordinal"] = c.primary_key_ordinal;
    }
    out.push_back(std::move(column));
  }
  return out;
}

void ThrowIfStopped(const std::stop_token& stop) {
  if (stop.stop_requested()) {
    throw RetryableError(codes::kSnapshotFailed, "snapshot stopped: the publisher is closing");
  }
}

// One table's rows as objects of at most about `object_bytes` uncompressed bytes each.
std::vector<std::string> WriteTable(const SnapshotBucket& location, const std::string& id,
                                    const TableIdentifier& table, const TableCopy& copy,
                                    WrittenSnapshot& written, const std::stop_token& stop) {
  const contract::RecordEncoder encoder(table, copy.columns, false);
  std::vector<std::string> objects;
  std::unique_ptr<snapshot::ByteSink> sink;
  std::size_t object_bytes = 0;
  const auto close = [&] {
    if (!sink) return;
    sink->Close();
    sink.reset();
    ++written.objects;
  };
  std::string line;
  for (const auto& row : copy.rows) {
    if (!sink) {
      ThrowIfStopped(stop);
      objects.push_back(fmt::format("{}/part-{:05}.jsonl.gz", table.ToString(), objects.size()));
      sink = MakeGzipSink(MakeS3Sink(location.s3, location.bucket,
                                     location.prefix + id + "/" + objects.back(),
                                     location.upload_part_bytes));
      object_bytes = 0;
    }
    line = encoder.RowLine(*row);
    line += '\n';
    sink->Write(line);
    object_bytes += line.size();
    written.row_bytes += line.size();
    ++written.rows;
    if (object_bytes >= location.object_bytes) close();
  }
  close();
  return objects;
}

}  // namespace

std::string ManifestJson(const std::string& id, const std::string& stream,
                         const std::map<TableIdentifier, std::vector<std::string>>& objects,
                         const StateCopy& state,
                         const std::map<std::string, std::string>& stream_position) {
  json tables = json::object();
  for (const auto& [table, copy] : state) {
    const auto it = objects.find(table);
    tables[table.ToString()] = {
        {"columns", ColumnsJson(copy.columns)},
        {"objects", it == objects.end() ? json::array() : json(it->second)}};
  }
  return json{{"format", std::string(contract::kManifestFormat)},
              {"snapshot_id", id},
              {"created_at", snapshot::CreatedAtOf(id)},
              {"stream", stream},
              {"tables", std::move(tables)},
              {"stream_position", stream_position}}
      .dump(2);
}

WrittenSnapshot WriteSnapshot(const SnapshotBucket& location, const std::string& id,
                              const std::string& stream, const StateCopy& state,
                              const std::map<std::string, std::string>& stream_position,
                              const std::stop_token& stop) {
  WrittenSnapshot written;
  std::map<TableIdentifier, std::vector<std::string>> objects;
  for (const auto& [table, copy] : state) {
    objects[table] = WriteTable(location, id, table, copy, written, stop);
  }
  ThrowIfStopped(stop);
  // The snapshot's own copy first (pruning counts it as committed; a consumer can load it with
  // the prefix "<prefix><id>/"), then the one consumers read, its objects under "<id>/".
  location.s3->PutObject(location.bucket, location.prefix + id + "/" + kManifest,
                         ManifestJson(id, stream, objects, state, stream_position));
  for (auto& [table, keys] : objects) {
    for (auto& key : keys) key.insert(0, id + "/");
  }
  location.s3->PutObject(location.bucket, location.prefix + kManifest,
                         ManifestJson(id, stream, objects, state, stream_position));
  return written;
}

std::vector<std::string> PruneSnapshots(const SnapshotBucket& location, std::size_t keep) {
  std::map<std::string, std::vector<std::string>> keys_by_id;
  std::set<std::string> committed;
  for (auto& key : location.s3->ListAllObjects(location.bucket, location.prefix, 0)) {
    const std::string rest = key.substr(location.prefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos) continue;  // the top manifest and foreign objects
    std::string id = rest.substr(0, slash);
    if (!snapshot::IsSnapshotId(id)) continue;
    if (rest.substr(slash + 1) == kManifest) committed.insert(id);
    keys_by_id[id].push_back(std::move(key));
  }
  std::vector<std::string> deleted;
  if (keep == 0 || committed.size() <= keep) return deleted;
  // The oldest snapshot kept; everything older goes, committed or not.
  const std::string oldest_kept = *std::next(committed.rbegin(), static_cast<long>(keep) - 1);
  for (auto& [id, keys] : keys_by_id) {
    if (id >= oldest_kept) break;
    // The manifest first: the snapshot stops being committed before its objects go.
    std::stable_partition(keys.begin(), keys.end(),
                          [&](const std::string& k) { return k.ends_with(kManifest); });
    for (const auto& key : keys) location.s3->DeleteObject(location.bucket, key);
    deleted.push_back(id);
  }
  return deleted;
}

}  // namespace laredo::kinesis::publish
