// GET /status: what an operator asks first, in one document. Built from the engine's public
// snapshots; the sources are the ones the pipelines name (the engine lists no others).
#include <nlohmann/json.hpp>

#include "laredo/engine.hpp"
#include "router.hpp"

namespace laredo::http::detail {

std::string StatusJson(Engine& engine) {
  nlohmann::json doc;
  const bool ready = engine.AwaitReady(std::chrono::milliseconds(0));
  doc["ready"] = ready;
  doc["not_ready_reason"] = ready ? std::string() : engine.NotReadyReason();

  const auto pipelines = engine.Pipelines();
  std::vector<std::string> source_ids;
  auto& pipeline_list = doc["pipelines"] = nlohmann::json::array();
  for (const auto& p : pipelines) {
    if (std::find(source_ids.begin(), source_ids.end(), p.source_id) == source_ids.end()) {
      source_ids.push_back(p.source_id);
    }
    pipeline_list.push_back({{"id", p.id},
                             {"source", p.source_id},
                             {"table", p.table.ToString()},
                             {"state", std::string(ToString(p.state))},
                             {"baseline_rows", p.baseline_rows},
                             {"changes_applied", p.changes_applied},
                             {"buffer_depth", p.buffer_depth},
                             {"buffer_capacity", p.buffer_capacity},
                             {"last_error", p.last_error}});
  }
  auto& source_list = doc["sources"] = nlohmann::json::array();
  for (const auto& id : source_ids) {
    nlohmann::json source{{"id", id},
                          {"state", std::string(ToString(engine.GetSourceState(id)))},
                          {"last_acked_position", engine.LastAckedPositionString(id)}};
    const auto error = engine.SourceError(id);
    source["error"] = error ? nlohmann::json(*error) : nlohmann::json(nullptr);
    const auto lag = engine.GetLag(id);
    source["lag_bytes"] = lag.lag_bytes;
    source["lag_seconds"] =
        lag.lag_time ? nlohmann::json(static_cast<double>(lag.lag_time->count()) / 1000.0)
                     : nlohmann::json(nullptr);
    source_list.push_back(std::move(source));
  }
  // Replacement characters rather than an exception for ids or errors that are not UTF-8.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace laredo::http::detail
