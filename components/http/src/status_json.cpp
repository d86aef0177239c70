// GET /status: what an operator asks first, in one document. Built from the engine's public
// snapshots; the lag is the engine's last sample, so a request never queries a source (a
// PostgreSQL lag query opens a connection).
#include <nlohmann/json.hpp>

#include "laredo/engine.hpp"
#include "router.hpp"

namespace laredo::http::detail {

std::string StatusJson(Engine& engine) {
  nlohmann::json doc;
  const bool ready = engine.AwaitReady(std::chrono::milliseconds(0));
  doc["ready"] = ready;
  doc["not_ready_reason"] = ready ? std::string() : engine.NotReadyReason();

  auto& pipeline_list = doc["pipelines"] = nlohmann::json::array();
  for (const auto& p : engine.Pipelines()) {
    pipeline_list.push_back({{"id", p.id},
                             {"source", p.source_id},
                             {"table", p.table.ToString()},
                             {"state", std::string(ToString(p.state))},
                             {"baseline_rows", p.baseline_rows},
                             {"reloading", p.reloading},
                             {"changes_applied", p.changes_applied},
                             {"buffer_depth", p.buffer_depth},
                             {"buffer_capacity", p.buffer_capacity},
                             {"last_error", p.last_error}});
  }
  auto& source_list = doc["sources"] = nlohmann::json::array();
  for (const auto& s : engine.Sources()) {
    nlohmann::json source{{"id", s.id},
                          {"state", std::string(ToString(s.state))},
                          {"last_acked_position", s.last_acked_position},
                          {"pipelines", s.pipelines}};
    source["error"] = s.error ? nlohmann::json(*s.error) : nlohmann::json(nullptr);
    source["lag_bytes"] = s.lag ? nlohmann::json(s.lag->lag_bytes) : nlohmann::json(nullptr);
    source["lag_seconds"] =
        s.lag && s.lag->lag_time
            ? nlohmann::json(static_cast<double>(s.lag->lag_time->count()) / 1000.0)
            : nlohmann::json(nullptr);
    source_list.push_back(std::move(source));
  }
  // Replacement characters rather than an exception for ids or errors that are not UTF-8.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace laredo::http::detail
