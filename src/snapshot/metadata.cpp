// The metadata document: JSON through nlohmann, every field checked when read, since a store's
// objects may have been edited or damaged.
#include "laredo/snapshot/metadata.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::snapshot {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "laredo-snapshot";

json ColumnJson(const ColumnDefinition& c) {
  json j = {{"name", c.name},
            {"type", c.type},
            {"nullable", c.nullable},
            {"ordinal_position", c.ordinal_position},
            {"primary_key", c.primary_key},
            {"primary_key_ordinal", c.primary_key_ordinal},
            {"type_oid", c.type_oid},
            {"type_modifier", c.type_modifier}};
  if (c.default_value) j["default_value"] = *c.default_value;
  return j;
}

ColumnDefinition ColumnOf(const json& j) {
  ColumnDefinition c;
  c.name = j.at("name").get<std::string>();
  c.type = j.at("type").get<std::string>();
  c.nullable = j.at("nullable").get<bool>();
  c.ordinal_position = j.at("ordinal_position").get<int>();
  c.primary_key = j.at("primary_key").get<bool>();
  c.primary_key_ordinal = j.at("primary_key_ordinal").get<int>();
  c.type_oid = j.at("type_oid").get<std::uint32_t>();
  c.type_modifier = j.at("type_modifier").get<std::int32_t>();
  if (auto d = j.find("default_value"); d != j.end()) c.default_value = d->get<std::string>();
  return c;
}

}  // namespace

const TableEntry* SnapshotMetadata::FindTable(const TableIdentifier& table) const {
  for (const auto& t : tables) {
    if (t.table == table) return &t;
  }
  return nullptr;
}

const TableEntry* SnapshotMetadata::FindPipeline(std::string_view pipeline_id) const {
  for (const auto& t : tables) {
    if (t.pipeline == pipeline_id) return &t;
  }
  return nullptr;
}

std::uint64_t SnapshotMetadata::TotalRows() const {
  std::uint64_t rows = 0;
  for (const auto& t : tables) rows += t.row_count;
  return rows;
}

std::uint64_t SnapshotMetadata::TotalBytes() const {
  std::uint64_t bytes = 0;
  for (const auto& t : tables) bytes += t.bytes;
  return bytes;
}

const SourceEntry* SnapshotMetadata::FindSource(std::string_view source_id) const {
  for (const auto& s : sources) {
    if (s.id == source_id) return &s;
  }
  return nullptr;
}

std::string SnapshotMetadata::ToJson() const {
  json j = {{"format", kFormat},        {"format_version", format_version},
            {"snapshot_id", id},        {"created_at", created_at},
            {"sources", json::array()}, {"tables", json::array()}};
  for (const auto& s : sources) j["sources"].push_back({{"id", s.id}, {"position", s.position}});
  for (const auto& t : tables) {
    json columns = json::array();
    for (const auto& c : t.columns) columns.push_back(ColumnJson(c));
    json entry = {
        {"schema", t.table.schema}, {"table", t.table.table}, {"columns", std::move(columns)},
        {"row_count", t.row_count}, {"file", t.file},         {"bytes", t.bytes},
        {"checksum", t.checksum}};
    if (!t.pipeline.empty()) entry["pipeline"] = t.pipeline;
    j["tables"].push_back(std::move(entry));
  }
  return j.dump(2) + "\n";
}

SnapshotMetadata SnapshotMetadata::FromJson(std::string_view text, std::string_view name) {
  const auto bad = [&](const std::string& why) {
    return DataError(codes::kBadSnapshot,
                     fmt::format("snapshot metadata {} is not valid: {}", name, why));
  };
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw bad(e.what());
  }
  try {
    if (!j.is_object() || j.value("format", std::string()) != kFormat) {
      throw bad(fmt::format("\"format\" is not \"{}\"", kFormat));
    }
    SnapshotMetadata m;
    m.format_version = j.at("format_version").get<int>();
    if (m.format_version != kMetadataVersion) {
      throw DataError(codes::kSnapshotVersion,
                      fmt::format("snapshot metadata {}: format version {}; this library reads "
                                  "version {}",
                                  name, m.format_version, kMetadataVersion));
    }
    m.id = j.at("snapshot_id").get<std::string>();
    m.created_at = j.at("created_at").get<std::string>();
    if (!IsSnapshotId(m.id)) throw bad("\"snapshot_id\" is not a snapshot id: " + m.id);
    for (const auto& s : j.at("sources")) {
      m.sources.push_back({s.at("id").get<std::string>(), s.at("position").get<std::string>()});
    }
    for (const auto& t : j.at("tables")) {
      TableEntry e;
      e.table = {t.at("schema").get<std::string>(), t.at("table").get<std::string>()};
      e.pipeline = t.value("pipeline", std::string());
      for (const auto& c : t.at("columns")) e.columns.push_back(ColumnOf(c));
      e.row_count = t.at("row_count").get<std::uint64_t>();
      e.file = t.at("file").get<std::string>();
      e.bytes = t.at("bytes").get<std::uint64_t>();
      e.checksum = t.at("checksum").get<std::uint32_t>();
      if (e.file.empty() || e.file.find('/') != std::string::npos || e.file[0] == '.') {
        throw bad("a table's file name is not a plain name: " + e.file);
      }
      const bool twice = std::any_of(m.tables.begin(), m.tables.end(), [&](const TableEntry& o) {
        return o.table == e.table && o.pipeline == e.pipeline;
      });
      if (twice) {
        throw bad(e.table.ToString() + (e.pipeline.empty() ? "" : " of pipeline " + e.pipeline) +
                  " is listed twice");
      }
      m.tables.push_back(std::move(e));
    }
    return m;
  } catch (const json::exception& e) {
    throw bad(e.what());
  }
}

}  // namespace laredo::snapshot
