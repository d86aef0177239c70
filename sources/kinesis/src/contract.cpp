// Decoder: table-object lines and Kinesis records -> rows and change events.
#include "contract.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "decoder_table.hpp"
#include "fast_row.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::kinesis::contract {

namespace {

using nlohmann::json;
using DecoderTable = Decoder::Table;

[[noreturn]] void Bad(const std::string& message) { throw DataError(codes::kBadRecord, message); }

json ParseJson(std::string_view text, std::string_view what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers too large
    Bad(fmt::format("{} is not valid JSON: {}", what, e.what()));
  }
}

Value Convert(const DecoderTable& table, std::size_t column, const json& j,
              std::string_view context) {
  const ColumnDefinition& def = table.columns[column];
  if (j.is_null() && !def.nullable) {
    Bad(fmt::format("{}: column '{}' is NOT NULL but the value is null", context, def.name));
  }
  try {
    return ToValue(j, table.kinds[column]);
  } catch (const DataError& e) {
    Bad(fmt::format("{}: column '{}' ({}): {}", context, def.name, def.type, e.what()));
  }
}

// Columns the manifest does not list, typed from their JSON values, appended in JSON order.
void AppendExtras(const DecoderTable& table, const json& object, std::vector<std::string>& names,
                  std::vector<Value>& values) {
  for (const auto& [name, value] : object.items()) {
    if (!table.names->Find(name)) {
      names.push_back(name);
      values.push_back(ToValue(value, ColumnKind::Unknown));
    }
  }
}

// Every manifest column; one the producer left out becomes `missing` (NULL or Unchanged).
Row FullRow(const DecoderTable& table, const json& object, bool missing_is_unchanged,
            std::string_view context) {
  std::vector<Value> values;
  values.reserve(table.columns.size());
  std::size_t found = 0;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    const auto it = object.find(table.columns[i].name);
    if (it != object.end()) {
      values.push_back(Convert(table, i, *it, context));
      ++found;
    } else if (missing_is_unchanged) {
      values.push_back(Value::Unchanged());
    } else if (!table.columns[i].nullable) {
      Bad(fmt::format("{}: NOT NULL column '{}' is missing", context, table.columns[i].name));
    } else {
      values.emplace_back();
    }
  }
  if (found == object.size()) return Row(table.names, std::move(values));
  std::vector<std::string> names = table.names->names();
  AppendExtras(table, object, names, values);
  return Row(ColumnNames::Make(std::move(names)), std::move(values));
}

// Only the columns the producer sent, manifest columns first.
Row PartialRow(const DecoderTable& table, const json& object, std::string_view context) {
  std::vector<std::string> names;
  std::vector<Value> values;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    const auto it = object.find(table.columns[i].name);
    if (it == object.end()) continue;
    names.push_back(table.columns[i].name);
    values.push_back(Convert(table, i, *it, context));
  }
  const bool all_manifest_columns = names.size() == table.columns.size();
  AppendExtras(table, object, names, values);
  if (all_manifest_columns && names.size() == table.columns.size()) {
    return Row(table.names, std::move(values));
  }
  return Row(ColumnNames::Make(std::move(names)), std::move(values));
}

const json* OptionalObject(const json& record, std::string_view key, std::string_view context) {
  const auto it = record.find(key);
  if (it == record.end() || it->is_null()) return nullptr;
  if (!it->is_object())
    Bad(fmt::format("{}: \"{}\" must be an object, not {}", context, key, it->type_name()));
  return &*it;
}

const std::string& RequiredString(const json& record, std::string_view key) {
  const auto it = record.find(key);
  if (it == record.end() || it->is_null()) Bad(fmt::format("record has no \"{}\"", key));
  if (!it->is_string()) {
    Bad(fmt::format("record \"{}\" must be a string, not {}", key, it->type_name()));
  }
  return it->get_ref<const std::string&>();
}

ChangeAction ParseAction(const std::string& action, std::string_view table) {
  if (action == "insert") return ChangeAction::Insert;
  if (action == "update") return ChangeAction::Update;
  if (action == "delete") return ChangeAction::Delete;
  if (action == "truncate") return ChangeAction::Truncate;
  Bad(fmt::format(
      "record for {}: unknown action '{}' (expected insert, update, delete or truncate)", table,
      action));
}

}  // namespace

TableIdentifier ParseTableName(std::string_view name) {
  const std::size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) {
    Bad(fmt::format("'{}' is not a table name of the form schema.table", name));
  }
  return TableIdentifier{std::string(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

Decoder::Decoder(const std::map<TableIdentifier, std::vector<ColumnDefinition>>& tables,
                 bool fast_rows)
    : fast_rows_(fast_rows) {
  for (const auto& [id, columns] : tables) {
    auto table = std::make_shared<Table>();
    table->id = id;
    table->columns = columns;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      names.push_back(columns[i].name);
      table->kinds.push_back(KindForType(columns[i].type));
      if (columns[i].primary_key) table->key_columns.push_back(i);
    }
    table->names = ColumnNames::Make(std::move(names));
    tables_.emplace(id, std::move(table));
  }
}

Decoder::Decoder(const Manifest& manifest)
    : Decoder([&] {
        std::map<TableIdentifier, std::vector<ColumnDefinition>> tables;
        for (const auto& [id, table] : manifest.tables) tables.emplace(id, table.columns);
        return tables;
      }()) {}

Row Decoder::DecodeRow(const TableIdentifier& table, std::string_view json_line) const {
  const auto it = tables_.find(table);
  if (it == tables_.end()) Bad(fmt::format("table {} is not in the manifest", table.ToString()));
  // The common shape without a JSON tree; anything else (and every error) takes the tree path,
  // which is the reference for what a line means.
  if (fast_rows_) {
    if (auto row = TryDecodeRowFast(*it->second, json_line)) return std::move(*row);
  }
  const std::string context = "row of " + table.ToString();
  const json row = ParseJson(json_line, context);
  if (!row.is_object())
    Bad(fmt::format("{} must be a JSON object, not {}", context, row.type_name()));
  return FullRow(*it->second, row, false, context);
}

std::optional<TableIdentifier> Decoder::TableOf(std::string_view data) const noexcept {
  try {
    const json record = json::parse(data, nullptr, false);
    if (!record.is_object()) return std::nullopt;
    const auto it = record.find("table");
    if (it == record.end() || !it->is_string()) return std::nullopt;
    TableIdentifier id = ParseTableName(it->get_ref<const std::string&>());
    if (!tables_.contains(id)) return std::nullopt;
    return id;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

DecodedRecord Decoder::DecodeRecord(std::string_view data) const {
  DecodedRecord out;
  out.control = !DecodeRecordInto(data, out.event, &out.source_position);
  return out;
}

bool Decoder::DecodeRecordInto(std::string_view data, ChangeEvent& event,
                               std::optional<std::string>* source_position) const {
  const json record = ParseJson(data, "record");
  if (!record.is_object())
    Bad(fmt::format("record must be a JSON object, not {}", record.type_name()));
  // Checked before the table: a barrier names none.
  if (const auto action = record.find("action");
      action != record.end() && action->is_string() &&
      action->get_ref<const std::string&>() == kBarrierAction) {
    return false;
  }

  const std::string& table_name = RequiredString(record, "table");
  const TableIdentifier id = ParseTableName(table_name);
  const auto found = tables_.find(id);
  if (found == tables_.end()) Bad(fmt::format("record for unknown table {}", table_name));
  const DecoderTable& table = *found->second;

  event.table = id;  // copy-assigned: the strings keep their storage
  event.action = ParseAction(RequiredString(record, "action"), table_name);
  event.new_values = Row();
  event.old_values = Row();
  event.commit_time.reset();
  event.transaction_id.reset();
  event.ends_transaction = false;
  const std::string context =
      fmt::format("record for {} ({})", table_name, laredo::ToString(event.action));

  const json* new_row = OptionalObject(record, "new", context);
  const json* old_row = OptionalObject(record, "old", context);
  switch (event.action) {
    case ChangeAction::Insert:
      if (new_row == nullptr) Bad(context + ": \"new\" is required");
      event.new_values = FullRow(table, *new_row, false, context + " new");
      break;
    case ChangeAction::Update:
      if (new_row == nullptr) Bad(context + ": \"new\" is required");
      event.new_values = FullRow(table, *new_row, true, context + " new");
      if (old_row != nullptr) event.old_values = PartialRow(table, *old_row, context + " old");
      for (const std::size_t key : table.key_columns) {
        const std::string& name = table.columns[key].name;
        if (!new_row->contains(name) && (old_row == nullptr || !old_row->contains(name))) {
          Bad(fmt::format("{}: key column '{}' is in neither \"new\" nor \"old\"", context, name));
        }
      }
      break;
    case ChangeAction::Delete:
      if (old_row == nullptr) Bad(context + ": \"old\" is required");
      event.old_values = PartialRow(table, *old_row, context + " old");
      for (const std::size_t key : table.key_columns) {
        if (!old_row->contains(table.columns[key].name)) {
          Bad(fmt::format("{}: \"old\" lacks key column '{}'", context, table.columns[key].name));
        }
      }
      if (event.old_values.empty()) Bad(context + ": \"old\" is empty");
      break;
    case ChangeAction::Truncate:
      break;
  }

  if (const auto it = record.find("commit_time"); it != record.end() && !it->is_null()) {
    if (!it->is_string()) Bad(context + ": \"commit_time\" must be an RFC 3339 string");
    try {
      event.commit_time = ParseInstant(it->get_ref<const std::string&>());
    } catch (const DataError& e) {
      Bad(fmt::format("{}: commit_time: {}", context, e.what()));
    }
  }
  if (const auto it = record.find("source_position"); it != record.end() && !it->is_null()) {
    if (!it->is_string()) Bad(context + ": \"source_position\" must be a string");
    if (source_position != nullptr) *source_position = it->get<std::string>();
  }
  return true;
}

}  // namespace laredo::kinesis::contract
