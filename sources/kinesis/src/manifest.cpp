// ParseManifest: validation of manifest.json, collecting every problem with its JSON Pointer.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>
#include <set>

#include "contract.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::contract {
namespace {

using nlohmann::json;

// RFC 6901 escaping of one reference token.
std::string PointerToken(std::string_view key) {
  std::string out;
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

class Checker {
 public:
  void Problem(const std::string& path, std::string_view what) {
    problems_.push_back(fmt::format("{}: {}", path.empty() ? "/" : path, what));
  }

  // The member `key` of `object` if it has the wanted type, else nullptr (and a problem when it
  // is required or present with the wrong type).
  const json* Member(const json& object, const std::string& path, std::string_view key,
                     json::value_t type, bool required) {
    const std::string member_path = path + "/" + PointerToken(key);
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
      if (required) Problem(member_path, "missing");
      return nullptr;
    }
    const bool ok =
        type == json::value_t::number_integer ? it->is_number_integer() : it->type() == type;
    if (!ok) {
      Problem(member_path, fmt::format("must be {}, not {}", TypeName(type), it->type_name()));
      return nullptr;
    }
    return &*it;
  }

  const std::string* String(const json& object, const std::string& path, std::string_view key,
                            bool required) {
    const json* j = Member(object, path, key, json::value_t::string, required);
    if (j == nullptr) return nullptr;
    if (j->get_ref<const std::string&>().empty()) {
      Problem(path + "/" + PointerToken(key), "must not be empty");
      return nullptr;
    }
    return &j->get_ref<const std::string&>();
  }

  [[nodiscard]] const std::vector<std::string>& problems() const { return problems_; }

 private:
  static std::string_view TypeName(json::value_t type) {
    switch (type) {
      case json::value_t::object:
        return "an object";
      case json::value_t::array:
        return "an array";
      case json::value_t::string:
        return "a string";
      case json::value_t::boolean:
        return "true or false";
      case json::value_t::number_integer:
        return "an integer";
      default:
        return "a value";
    }
  }

  std::vector<std::string> problems_;
};

std::vector<ColumnDefinition> ParseColumns(Checker& check, const json& columns,
                                           const std::string& path) {
  std::vector<ColumnDefinition> out;
  std::set<std::string> names;
  std::set<std::int64_t> key_ordinals;
  if (columns.empty()) check.Problem(path, "a table needs at least one column");
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::string column_path = fmt::format("{}/{}", path, i);
    const json& c = columns[i];
    if (!c.is_object()) {
      check.Problem(column_path, fmt::format("must be an object, not {}", c.type_name()));
      continue;
    }
    ColumnDefinition def;
    def.ordinal_position = static_cast<int>(i) + 1;
    if (const auto* name = check.String(c, column_path, "name", true)) {
      def.name = *name;
      if (!names.insert(def.name).second) {
        check.Problem(column_path + "/name", fmt::format("column '{}' is listed twice", def.name));
      }
    }
    if (const auto* type = check.String(c, column_path, "type", true)) def.type = *type;
    if (const auto* j = check.Member(c, column_path, "nullable", json::value_t::boolean, false)) {
      def.nullable = j->get<bool>();
    }
    if (const auto* j =
            check.Member(c, column_path, "primary_key", json::value_t::boolean, false)) {
      def.primary_key = j->get<bool>();
    }
    const auto* ordinal =
        check.Member(c, column_path, "primary_key_ordinal", json::value_t::number_integer, false);
    if (ordinal != nullptr && def.primary_key && ordinal->get<std::int64_t>() != 0) {
      const auto v = ordinal->get<std::int64_t>();
      if (v < 1 || v > static_cast<std::int64_t>(columns.size())) {
        check.Problem(column_path + "/primary_key_ordinal",
                      fmt::format("must be between 1 and {}", columns.size()));
      } else if (!key_ordinals.insert(v).second) {
        check.Problem(column_path + "/primary_key_ordinal", fmt::format("{} is used twice", v));
      } else {
        def.primary_key_ordinal = static_cast<int>(v);
      }
    } else if (ordinal != nullptr && !def.primary_key && ordinal->get<std::int64_t>() != 0) {
      check.Problem(column_path + "/primary_key_ordinal", "set on a column that is not a key");
    }
    out.push_back(std::move(def));
  }
  // Key columns without an ordinal take the next free ones, in column order.
  int next = 1;
  for (auto& def : out) {
    if (!def.primary_key || def.primary_key_ordinal != 0) continue;
    while (key_ordinals.contains(next)) ++next;
    def.primary_key_ordinal = next;
    key_ordinals.insert(next);
  }
  return out;
}

void ParseTables(Checker& check, const json& tables, Manifest& manifest) {
  for (const auto& [name, table] : tables.items()) {
    const std::string path = "/tables/" + PointerToken(name);
    TableIdentifier id;
    try {
      id = ParseTableName(name);
    } catch (const DataError&) {
      check.Problem(path, "table names are \"schema.table\"");
      continue;
    }
    if (!table.is_object()) {
      check.Problem(path, fmt::format("must be an object, not {}", table.type_name()));
      continue;
    }
    ManifestTable parsed;
    if (const auto* columns = check.Member(table, path, "columns", json::value_t::array, true)) {
      parsed.columns = ParseColumns(check, *columns, path + "/columns");
    }
    if (const auto* objects = check.Member(table, path, "objects", json::value_t::array, true)) {
      for (std::size_t i = 0; i < objects->size(); ++i) {
        const json& key = (*objects)[i];
        if (!key.is_string() || key.get_ref<const std::string&>().empty()) {
          check.Problem(fmt::format("{}/objects/{}", path, i), "must be a non-empty object key");
          continue;
        }
        parsed.objects.push_back(key.get<std::string>());
      }
    }
    manifest.tables.emplace(std::move(id), std::move(parsed));
  }
}

}  // namespace

Manifest ParseManifest(std::string_view json_text) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers too large
    throw DataError(codes::kBadManifest, fmt::format("manifest is not valid JSON: {}", e.what()));
  }
  Checker check;
  Manifest manifest;
  if (!root.is_object()) {
    check.Problem("", fmt::format("must be an object, not {}", root.type_name()));
  } else {
    if (const auto* format = check.String(root, "", "format", true);
        format && *format != kManifestFormat) {
      check.Problem("/format",
                    fmt::format("'{}' is not supported (expected '{}')", *format, kManifestFormat));
    }
    if (const auto* id = check.String(root, "", "snapshot_id", true)) manifest.snapshot_id = *id;
    if (const auto* created = check.String(root, "", "created_at", true)) {
      try {
        manifest.created_at = ParseInstant(*created);
      } catch (const DataError& e) {
        check.Problem("/created_at", e.what());
      }
    }
    if (const auto* stream = check.String(root, "", "stream", true)) manifest.stream = *stream;
    if (const auto* tables = check.Member(root, "", "tables", json::value_t::object, true)) {
      ParseTables(check, *tables, manifest);
    }
    if (const auto* position =
            check.Member(root, "", "stream_position", json::value_t::object, false)) {
      for (const auto& [shard, sequence] : position->items()) {
        const std::string path = "/stream_position/" + PointerToken(shard);
        if (shard.empty()) check.Problem(path, "empty shard id");
        if (!sequence.is_string()) {
          check.Problem(path, "sequence numbers are decimal strings");
          continue;
        }
        try {
          manifest.stream_position.emplace(shard, SequenceNumber(sequence.get<std::string>()));
        } catch (const DataError& e) {
          check.Problem(path, e.what());
        }
      }
    }
  }
  const auto& problems = check.problems();
  if (!problems.empty()) {
    throw DataError(codes::kBadManifest,
                    fmt::format("invalid manifest ({} problem{}): {}", problems.size(),
                                problems.size() == 1 ? "" : "s", fmt::join(problems, "; ")));
  }
  return manifest;
}

}  // namespace laredo::kinesis::contract
