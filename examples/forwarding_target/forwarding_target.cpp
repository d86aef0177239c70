#include "forwarding_target.hpp"

#include <nlohmann/json.hpp>
#include <tuple>

#include "laredo/sync_source.hpp"

namespace example {
namespace {

nlohmann::json RowJson(const laredo::Row& row) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : row) out[name] = value.ToString();
  return out;
}

// What the file says: the newest "pos" written ("" for none), and whether its last baseline
// completed (a crash mid-baseline leaves a begin without a complete).
std::pair<std::string, bool> ReadState(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::string last;
  bool complete = false;
  while (std::getline(in, line)) {
    const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) continue;  // a line cut by a crash
    if (json.contains("pos")) last = json["pos"].get<std::string>();
    const auto op = json.value("op", "");
    if (op == "baseline_begin") complete = false;
    if (op == "baseline_complete") complete = true;
  }
  return {last, complete};
}

}  // namespace

ForwardingTarget::ForwardingTarget(std::filesystem::path path,
                                   std::chrono::milliseconds flush_interval)
    : path_(std::move(path)), flush_interval_(flush_interval) {
  std::tie(last_position_, baseline_done_) = ReadState(path_);
  out_.open(path_, std::ios::app);
  flusher_ = std::jthread([this](const std::stop_token& stop) { FlushLoop(stop); });
}

ForwardingTarget::~ForwardingTarget() {
  flusher_.request_stop();
  wake_.notify_all();
}

void ForwardingTarget::OnInit(const laredo::TableIdentifier&,
                              const std::vector<laredo::ColumnDefinition>&) {}

void ForwardingTarget::SetDurabilityReporter(laredo::DurabilityReporter* reporter) {
  std::lock_guard lk(mu_);
  reporter_ = reporter;
}

void ForwardingTarget::Write(const std::string& line) {
  std::lock_guard lk(mu_);
  buffered_ += line;
  buffered_ += '\n';
  ++lines_;
}

void ForwardingTarget::OnBaselineBegin(const laredo::TableIdentifier& table,
                                       const std::vector<laredo::ColumnDefinition>&) {
  baseline_done_ = false;
  Write(nlohmann::json{{"op", "baseline_begin"}, {"table", table.ToString()}}.dump());
}

void ForwardingTarget::OnBaselineRow(const laredo::TableIdentifier& table, const laredo::Row& row) {
  Write(nlohmann::json{{"op", "read"}, {"table", table.ToString()}, {"row", RowJson(row)}}.dump());
}

void ForwardingTarget::OnBaselineComplete(const laredo::TableIdentifier& table) {
  Write(nlohmann::json{{"op", "baseline_complete"}, {"table", table.ToString()}}.dump());
  FlushNow();
  baseline_done_ = true;
}

void ForwardingTarget::OnChanges(const laredo::TableIdentifier& table,
                                 std::span<const laredo::TargetChange> changes) {
  for (const laredo::TargetChange& change : changes) {
    // At-least-once: after a restart the source resends from its last ACK. The file knows better.
    if (!last_position_.empty()) {
      if (!written_.has_value()) written_ = change.source->PositionFromString(last_position_);
      if (change.source->ComparePositions(change.event->position, written_) <= 0) continue;
      last_position_.clear();  // positions only grow: nothing after this one was written
    }
    nlohmann::json line{{"pos", change.PositionString()},
                        {"op", std::string(laredo::ToString(change.action))},
                        {"table", table.ToString()}};
    if (change.row != nullptr) line["row"] = RowJson(*change.row);
    if (change.identity != nullptr) line["key"] = RowJson(*change.identity);
    if (change.event->transaction_id) line["tx"] = *change.event->transaction_id;
    Write(line.dump());
    {
      std::lock_guard lk(mu_);
      buffered_ticket_ = change.ticket;
    }
    // One flush per source transaction: readers of the file never see half of one.
    if (change.event->ends_transaction) {
      {
        std::lock_guard lk(mu_);
        flush_requested_ = true;
      }
      wake_.notify_all();
    }
  }
  if (!changes.empty()) {
    std::lock_guard lk(mu_);
    buffered_ticket_ = changes.back().ticket;  // skipped duplicates are durable already
  }
}

void ForwardingTarget::FlushNow() {
  std::lock_guard flushing(flush_mu_);  // the flusher and the pipeline thread both flush
  std::string data;
  std::uint64_t ticket = 0;
  laredo::DurabilityReporter* reporter = nullptr;
  {
    std::lock_guard lk(mu_);
    data.swap(buffered_);
    flush_requested_ = false;
    ticket = buffered_ticket_;
    reporter = reporter_;
  }
  if (!data.empty()) {
    out_.write(data.data(), static_cast<std::streamsize>(data.size()));
    out_.flush();  // a real target would fsync or wait for its broker's acknowledgement here
  }
  {
    std::lock_guard lk(mu_);
    if (ticket <= flushed_ticket_) return;
    flushed_ticket_ = ticket;
  }
  if (reporter != nullptr) reporter->Durable(ticket);
}

void ForwardingTarget::FlushLoop(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lk(mu_);
      wake_.wait_for(lk, stop, flush_interval_, [&] { return flush_requested_; });
    }
    FlushNow();
  }
}

bool ForwardingTarget::IsDurable() {
  std::lock_guard flushing(flush_mu_);  // data being written is not durable yet
  std::lock_guard lk(mu_);
  return buffered_.empty();
}

void ForwardingTarget::OnClose(const laredo::TableIdentifier&) {
  FlushNow();
  std::lock_guard lk(mu_);
  reporter_ = nullptr;  // the engine's reporter is valid only until OnClose returns
}

std::uint64_t ForwardingTarget::lines_written() const {
  std::lock_guard lk(mu_);
  return lines_;
}

}  // namespace example
