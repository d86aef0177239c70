#include "reload_checkpoint.hpp"

#include <nlohmann/json.hpp>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

constexpr std::string_view kPrefix = "pgreload1:";

[[noreturn]] void Bad(const std::string& what) {
  throw DataError(codes::kBadReloadCheckpoint,
                  "not a reload checkpoint this source wrote (" + what + ")");
}

nlohmann::json Keys(const std::optional<std::vector<std::string>>& keys) {
  return keys ? nlohmann::json(*keys) : nlohmann::json(nullptr);
}

std::vector<std::string> TextList(const nlohmann::json& j, const char* what) {
  if (!j.is_array()) Bad(std::string(what) + " is not a list");
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (!item.is_string()) Bad(std::string(what) + " holds something other than text");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::optional<std::vector<std::string>> OptionalList(const nlohmann::json& j, const char* what) {
  if (j.is_null()) return std::nullopt;
  return TextList(j, what);
}

}  // namespace

std::string ReloadCheckpoint::Encode() const {
  nlohmann::json again = nlohmann::json::array();
  for (const auto& key : read_again) again.push_back(key);
  const nlohmann::json j = {
      {"schema", table.schema},   {"table", table.table},          {"slot", slot},
      {"columns", columns},       {"through", through.ToString()}, {"bounded", bounded},
      {"scanned", scanned},       {"after", Keys(after)},          {"last", Keys(last)},
      {"again", std::move(again)}};
  return std::string(kPrefix) + j.dump();
}

ReloadCheckpoint ReloadCheckpoint::Decode(std::string_view text) {
  if (!text.starts_with(kPrefix)) Bad("unknown format");
  const auto j = nlohmann::json::parse(text.substr(kPrefix.size()), nullptr,
                                       /*allow_exceptions=*/false);
  if (!j.is_object()) Bad("not a JSON object");
  const auto field = [&](const char* name) -> const nlohmann::json& {
    const auto it = j.find(name);
    if (it == j.end()) Bad(std::string("no \"") + name + "\"");
    return *it;
  };
  const auto text_of = [&](const char* name) {
    const auto& f = field(name);
    if (!f.is_string()) Bad(std::string("\"") + name + "\" is not text");
    return f.get<std::string>();
  };
  const auto flag = [&](const char* name) {
    const auto& f = field(name);
    if (!f.is_boolean()) Bad(std::string("\"") + name + "\" is not true or false");
    return f.get<bool>();
  };
  ReloadCheckpoint c;
  c.table = TableIdentifier{text_of("schema"), text_of("table")};
  c.slot = text_of("slot");
  c.columns = text_of("columns");
  try {
    c.through = StreamPosition::Parse(text_of("through"));
  } catch (const Error&) {
    Bad("a bad position");
  }
  c.bounded = flag("bounded");
  c.scanned = flag("scanned");
  c.after = OptionalList(field("after"), "the cursor");
  c.last = OptionalList(field("last"), "the bound");
  const auto& again = field("again");
  if (!again.is_array()) Bad("the keys to read again are not a list");
  for (const auto& key : again) c.read_again.push_back(TextList(key, "a key to read again"));
  if (c.bounded && !c.scanned && !c.last) Bad("a scan without a bound");
  return c;
}

}  // namespace laredo::pg
