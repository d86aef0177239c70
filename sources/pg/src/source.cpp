#include "laredo/pg/source.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "baseline_copy.hpp"
#include "catalog.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "publication.hpp"
#include "source_impl.hpp"

namespace laredo::pg {
namespace {

std::vector<std::string> CheckOptions(const SourceOptions& o) {
  std::vector<std::string> problems;
  if (o.conninfo.empty()) problems.emplace_back("pg source: conninfo is empty");
  if (o.slot_name.size() > 63) problems.emplace_back("pg source: slot_name longer than 63 bytes");
  for (const char c : o.slot_name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      problems.push_back(fmt::format(
          "pg source: slot_name \"{}\" may hold only lower-case letters, digits and '_'",
          o.slot_name));
      break;
    }
  }
  if (o.slot_mode == SlotMode::Stateful && o.slot_name.empty()) {
    problems.emplace_back(
        "pg source: slot_mode Stateful needs a slot_name: the slot is this consumer's identity on "
        "the server and must not be shared with another consumer");
  }
  if (o.publication_name.size() > 63) {
    problems.emplace_back("pg source: publication_name longer than 63 bytes");
  }
  o.reconnect.backoff.Validate("pg source: reconnect.backoff", problems);
  if (o.reconnect.max_attempts < 0) problems.emplace_back("pg source: reconnect.max_attempts < 0");
  if (o.status_interval.count() <= 0) problems.emplace_back("pg source: status_interval <= 0");
  if (o.baseline_parallelism < 1) problems.emplace_back("pg source: baseline_parallelism < 1");
  if (o.baseline_chunk_bytes == 0) problems.emplace_back("pg source: baseline_chunk_bytes is 0");
  if (o.stream_memory_bytes == 0) problems.emplace_back("pg source: stream_memory_bytes is 0");
  if (o.heartbeat_interval.count() < 0) problems.emplace_back("pg source: heartbeat_interval < 0");
  if (o.reload_chunk_rows == 0)
    problems.emplace_back("pg source: reload_chunk_rows must be positive");
  if (o.reload_chunk_pause.count() < 0) problems.emplace_back("pg source: reload_chunk_pause < 0");
  if (!o.heartbeat_query.empty() && o.heartbeat_interval.count() == 0) {
    problems.emplace_back(
        "pg source: heartbeat_query is set but heartbeat_interval is zero (no heartbeat)");
  }
  return problems;
}

// Random, not derived from the process: every container running the service as PID 1 would
// otherwise pick the same name and wait for the others' slots.
std::string RandomSlotName() {
  std::random_device random;
  std::uniform_int_distribution<std::uint64_t> any;
  return fmt::format("laredo_tmp_{:016x}", any(random));
}

}  // namespace

std::vector<ValidationError> ApplyColumnLists(
    std::map<TableIdentifier, std::vector<ColumnDefinition>>& columns,
    const std::map<TableIdentifier, TableOptions>& options) {
  std::vector<ValidationError> problems;
  for (const auto& [table, table_options] : options) {
    auto it = columns.find(table);
    if (it == columns.end() || table_options.columns.empty()) continue;
    std::vector<ColumnDefinition> kept;
    for (const auto& c : it->second) {
      const bool listed = std::find(table_options.columns.begin(), table_options.columns.end(),
                                    c.name) != table_options.columns.end();
      if (listed) kept.push_back(c);
      if (!listed && c.primary_key) {
        problems.push_back(
            {table, validation_codes::kColumnListMissesKey,
             fmt::format("the column list leaves out primary key column \"{}\"", c.name)});
      }
    }
    for (const auto& name : table_options.columns) {
      const bool found = std::any_of(it->second.begin(), it->second.end(),
                                     [&](const ColumnDefinition& c) { return c.name == name; });
      if (!found) {
        problems.push_back(
            {table, validation_codes::kColumnNotFound,
             fmt::format("column list names \"{}\", which the table does not have", name)});
      }
    }
    it->second = std::move(kept);
  }
  return problems;
}

namespace {

const StreamPosition& AsPosition(const Position& p) {
  const auto* pos = std::any_cast<StreamPosition>(&p);
  if (pos == nullptr) throw DataError(codes::kBadPosition, "not a laredo::pg::StreamPosition");
  return *pos;
}

}  // namespace

namespace {
std::map<TableIdentifier, std::string> RowFilters(
    const std::map<TableIdentifier, TableOptions>& o) {
  std::map<TableIdentifier, std::string> filters;
  for (const auto& [table, options] : o) filters[table] = options.row_filter;
  return filters;
}
}  // namespace

Source::Impl::Impl(SourceOptions o)
    : options(std::move(o)),
      slot(options.slot_name.empty() ? RandomSlotName() : options.slot_name),
      publication(options.publication_name.empty() ? slot : options.publication_name),
      // A named slot tells consumers apart; without one, the publication's name is all there is.
      consumer(options.slot_name.empty() ? publication : options.slot_name),
      reloads(ReloadRunner::Settings{.conninfo = options.conninfo,
                                     .slot = slot,
                                     .chunk_rows = options.reload_chunk_rows,
                                     .chunk_pause = options.reload_chunk_pause,
                                     .backoff = options.reconnect.backoff,
                                     .max_attempts = options.reconnect.max_attempts,
                                     .row_filters = RowFilters(options.tables)}) {}

void Source::Impl::RecordAck(const StreamPosition& p, bool replace) {
  std::lock_guard lk(mu);
  if (replace || !has_ack || StreamPosition::Compare(p, acked) > 0) {
    acked = p;
    has_ack = true;
  }
}

void Source::Impl::SetInUse(bool value) {
  {
    std::lock_guard lk(mu);
    in_use = value;
  }
  wake.notify_all();
}

ReplicationConnection::SlotState Source::Impl::AwaitSlotInactive(
    std::stop_token stop, ReplicationConnection& conn,
    ReplicationConnection::SlotState slot_state) {
  // Our own previous stream's walsender may still be exiting: wait for it, bounded. A slot that
  // stays in use belongs to another consumer; taking it over would wait for that consumer (or
  // take its slot away), so report it and let the engine retry with backoff.
  // A temporary slot stays acquired by the connection that created it.
  const std::string own_pid = std::to_string(PQbackendPID(conn.connection().get()));
  const auto held_by_other = [&] {
    return !slot_state.active_pid.empty() && slot_state.active_pid != own_pid;
  };
  for (int i = 0; i < 200 && held_by_other(); ++i) {
    if (!Wait(stop, std::chrono::milliseconds(25))) return slot_state;
    slot_state = conn.QuerySlot(slot);
  }
  if (held_by_other()) {
    throw SlotInUse(fmt::format(
        "replication slot {} is in use by another consumer (backend PID {}); give each consumer "
        "a slot_name of its own",
        slot, slot_state.active_pid));
  }
  return slot_state;
}

bool Source::Impl::Wait(std::stop_token stop, std::chrono::milliseconds delay) {
  std::unique_lock lk(mu);
  wake.wait_for(lk, stop, delay, [] { return false; });
  return !stop.stop_requested();
}

Source::Source(SourceOptions options) {
  if (auto problems = CheckOptions(options); !problems.empty()) throw ConfigError(problems);
  impl_ = std::make_unique<Impl>(std::move(options));
}

Source::~Source() = default;

StreamBufferStats Source::StreamBufferStatistics() const {
  return impl_->stream_counters.Snapshot();
}

void Source::ReloadTable(const TableIdentifier& table) {
  {
    std::lock_guard lk(impl_->mu);
    const auto it = impl_->reloadable.find(table);
    if (it == impl_->reloadable.end()) {
      throw ConfigError({fmt::format("pg source: cannot reload {}: not a table of this source{}",
                                     table.ToString(),
                                     impl_->reloadable.empty() ? " (Init has not run yet)" : "")});
    }
    if (!it->second) {
      throw ConfigError({fmt::format(
          "pg source: cannot reload {} while streaming: it has no primary key (the chunks are "
          "read by key); Engine::Rebaseline reloads every table instead",
          table.ToString())});
    }
  }
  if (const int version = impl_->server_version.load(); version != 0 && version < 140000) {
    throw ConfigError({fmt::format(
        "pg source: cannot reload {} while streaming: server version {} has no logical decoding "
        "messages in pgoutput (PostgreSQL 14 or later)",
        table.ToString(), version)});
  }
  impl_->reloads.Request(table);
}

bool Source::ContinueReload(const TableIdentifier& table, const std::string& checkpoint) {
  auto parsed = ReloadCheckpoint::Decode(checkpoint);
  if (parsed.table != table || parsed.slot != impl_->slot) {
    throw DataError(codes::kBadReloadCheckpoint,
                    fmt::format("the reload checkpoint held for {} is of another {}",
                                table.ToString(), parsed.table != table ? "table" : "slot"));
  }
  {
    std::lock_guard lk(impl_->mu);
    const auto it = impl_->reloadable.find(table);
    if (it == impl_->reloadable.end() || !it->second) return false;  // ReloadTable says why
    // The stream would resume after the checkpoint: the changes between are lost to the merge.
    if (!impl_->has_ack || StreamPosition::CompareResumePoints(impl_->acked, parsed.through) > 0) {
      Logger()->info("pg source: the slot is past the reload checkpoint of {}", table.ToString());
      return false;
    }
  }
  const auto columns = impl_->columns.find(table);
  if (columns == impl_->columns.end() ||
      ReloadRunner::ColumnsSignature(columns->second) != parsed.columns) {
    Logger()->info("pg source: the columns of {} changed since its reload checkpoint",
                   table.ToString());
    return false;
  }
  impl_->reloads.ResumeAfterRestart(std::move(parsed));
  return true;
}

ReloadStats Source::ReloadStatistics() const { return impl_->reloads.Statistics(); }

HeartbeatStats Source::HeartbeatStatistics() const { return impl_->heartbeat_counters.Snapshot(); }

const std::string& Source::slot_name() const noexcept { return impl_->slot; }

std::map<TableIdentifier, std::vector<ColumnDefinition>> Source::Init(const SourceConfig& config) {
  impl_->SetState(SourceState::Connecting);
  impl_->tables = config.tables;
  auto conn = PgConnection::Connect(impl_->options.conninfo, ConnectionKind::Normal);
  auto discovered = DiscoverColumns(conn, config.tables);
  impl_->option_problems = ApplyColumnLists(discovered, impl_->options.tables);
  impl_->columns = std::move(discovered);
  {
    std::lock_guard lk(impl_->mu);
    impl_->reloadable.clear();
    for (const auto& [table, table_columns] : impl_->columns) {
      impl_->reloadable[table] = std::any_of(table_columns.begin(), table_columns.end(),
                                             [](const auto& c) { return c.primary_key; });
    }
  }
  impl_->SetState(SourceState::Connected);
  return impl_->columns;
}

std::vector<ValidationError> Source::ValidateTables(const std::vector<TableIdentifier>& tables) {
  auto conn = PgConnection::Connect(impl_->options.conninfo, ConnectionKind::Normal);
  const auto& o = impl_->options;
  const auto& publication = impl_->publication;
  auto problems = Validate(conn, tables, publication, o.manage_publication);
  problems.insert(problems.end(), impl_->option_problems.begin(), impl_->option_problems.end());
  if (!problems.empty()) return problems;
  if (o.manage_publication) {
    try {
      auto sync = SyncPublication(conn, publication, impl_->consumer, tables, o.tables);
      problems = std::move(sync.problems);
      if (!sync.restored.empty()) {
        // A slot did not decode their changes while they were out: resuming would miss them.
        Logger()->debug(
            "pg source: added {} to publication {}; a slot kept from before has not decoded "
            "their changes, so this start takes a fresh baseline",
            TableList(sync.restored), publication);
        impl_->publication_restored = true;
      }
    } catch (const SqlError& e) {
      problems.push_back({std::nullopt, validation_codes::kPublicationSyncFailed, e.what()});
    }
    if (!problems.empty()) return problems;
  }
  auto published = PublicationProblems(conn, publication, tables, o.manage_publication);
  problems.insert(problems.end(), published.begin(), published.end());
  return problems;
}

Position Source::Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                          const RowCallback& on_row) {
  return BaselineWithColumns(stop, tables, {}, on_row);
}

Position Source::BaselineWithColumns(std::stop_token stop,
                                     const std::vector<TableIdentifier>& tables,
                                     const ColumnsCallback& on_columns, const RowCallback& on_row) {
  auto& impl = *impl_;
  impl.SetInUse(true);
  impl.reloads.Clear();  // every table is read afresh
  // Ends the previous stream; a temporary slot goes with its connection.
  impl.repl.reset();
  impl.repl_streaming = false;
  // After Init the source is Connected already; Connecting only when coming from a stream.
  if (impl.state.load() != SourceState::Connected) impl.SetState(SourceState::Connecting);
  ReplicationConnection repl(PgConnection::Connect(
      impl.options.conninfo, ConnectionKind::Replication, "laredo replication"));
  const bool ephemeral = impl.options.slot_mode == SlotMode::Ephemeral;
  if (ephemeral) {
    // The previous temporary slot goes when its backend exits, which happens shortly after the
    // connection closed (a re-baseline): wait for it, bounded.
    for (int i = 0; i < 200 && repl.QuerySlot(impl.slot).exists; ++i) {
      if (!impl.Wait(stop, std::chrono::milliseconds(25))) return {};
    }
    if (repl.QuerySlot(impl.slot).exists) {
      throw RetryableError(codes::kPgSlotInUse,
                           fmt::format("temporary replication slot {} is still held by an "
                                       "earlier connection",
                                       impl.slot));
    }
  } else if (auto existing = repl.QuerySlot(impl.slot); existing.exists) {
    existing = impl.AwaitSlotInactive(stop, repl, existing);
    if (stop.stop_requested()) return {};
    if (existing.exists) {
      // A snapshot is exported only when a slot is created: a fresh baseline needs a fresh slot.
      Logger()->info("pg source: dropping slot {} to take a fresh baseline", impl.slot);
      repl.DropSlot(impl.slot);
    }
  }
  const CreatedSlot created = repl.CreateSlot(impl.slot, ephemeral);
  impl.SetState(SourceState::Connected);
  // The columns as they are at the snapshot, not as Init saw them: a column renamed or dropped
  // meanwhile would make COPY fail, and the stream's Relation messages describe these.
  auto columns = ColumnsAtSnapshot(impl.options.conninfo, created.snapshot_name, tables);
  ApplyColumnLists(columns, impl.options.tables);
  std::vector<CopyJob> jobs;
  for (const auto& t : tables) {
    auto it = columns.find(t);
    if (it == columns.end()) {
      throw FatalError(
          codes::kPgTableNotFound,
          fmt::format("{} does not exist any more (or is out of reach)", t.ToString()));
    }
    auto table_options = impl.options.tables.find(t);
    std::vector<std::uint32_t> value_types;
    std::vector<BinaryType> binary_types;
    for (const auto& c : it->second) {
      value_types.push_back(impl.Types().ValueType(c.type_oid));
      if (impl.options.binary_copy) binary_types.push_back(impl.Types().BinaryTypeOf(c.type_oid));
    }
    // Binary COPY only when every column has a decoder.
    if (std::any_of(binary_types.begin(), binary_types.end(),
                    [](const BinaryType& b) { return b.kind == BinaryType::Kind::None; })) {
      binary_types.clear();
    }
    jobs.push_back({.table = t,
                    .columns = it->second,
                    .row_filter = table_options == impl.options.tables.end()
                                      ? std::string()
                                      : table_options->second.row_filter,
                    .value_types = std::move(value_types),
                    .binary_types = std::move(binary_types)});
  }
  for (const auto& t : tables) impl.columns[t] = columns.at(t);
  if (on_columns) {
    for (const auto& t : tables) on_columns(t, columns.at(t));
  }
  CopySnapshot(impl.options.conninfo, created.snapshot_name, jobs,
               impl.options.baseline_parallelism, impl.options.baseline_chunk_bytes, stop, on_row);
  impl.repl.emplace(std::move(repl));
  impl.publication_restored = false;  // the new slot decodes every table from its snapshot on
  const StreamPosition position{
      .commit_lsn = created.consistent_point, .index = 0, .ack_lsn = created.consistent_point};
  // The new slot starts at its consistent point: that much is acknowledged by definition, and
  // positions of an older slot must not count any more.
  impl.RecordAck(position, true);
  impl.sent_flush = created.consistent_point.value();
  impl.SetState(SourceState::Connected);
  return position;
}

void Source::Ack(const Position& position) { impl_->RecordAck(AsPosition(position), false); }

void Source::ReleaseOnlyAcknowledged() { impl_->exact_release = true; }

bool Source::SupportsResume() const {
  return impl_->options.slot_mode == SlotMode::Stateful && !impl_->options.always_baseline;
}

Position Source::LastAckedPosition() {
  if (!SupportsResume() || impl_->publication_restored) return {};
  auto conn = PgConnection::Connect(impl_->options.conninfo, ConnectionKind::Normal);
  auto info = QuerySlotInfo(conn, impl_->slot);
  if (!info || !info->confirmed_flush || info->wal_status == "lost") return {};
  const StreamPosition p{
      .commit_lsn = *info->confirmed_flush, .index = 0, .ack_lsn = *info->confirmed_flush};
  impl_->RecordAck(p, true);  // what the slot confirmed is acknowledged by definition
  impl_->sent_flush = p.ack_lsn.value();
  return p;
}

int Source::ComparePositions(const Position& a, const Position& b) const {
  if (!a.has_value() || !b.has_value()) {
    return static_cast<int>(a.has_value()) - static_cast<int>(b.has_value());
  }
  return StreamPosition::CompareResumePoints(AsPosition(a), AsPosition(b));
}

std::string Source::PositionToString(const Position& position) const {
  return position.has_value() ? AsPosition(position).ToString() : std::string();
}

std::string LagApplicationName(std::string_view slot_name) {
  return ("laredo lag " + std::string(slot_name)).substr(0, 63);
}

Position PositionAt(Lsn lsn) {
  // Index 0 orders before every change of a transaction committing at `lsn` and after every
  // change of one before it; acknowledging it would release only WAL before `lsn`.
  return Position(StreamPosition{.commit_lsn = lsn, .index = 0, .ack_lsn = lsn});
}

Position Source::PositionFromString(std::string_view text) const {
  return StreamPosition::Parse(text);
}

void Source::Pause() { impl_->paused = true; }

void Source::Resume() {
  impl_->paused = false;
  std::lock_guard lk(impl_->mu);
  impl_->wake.notify_all();
}

LagInfo Source::GetLag() const {
  auto& impl = *impl_;
  ServerLag server;
  {
    // One connection, kept between calls (the engine samples every lag_interval); a failed
    // query drops it, and the next call connects again.
    std::lock_guard lk(impl.lag_mu);
    try {
      if (!impl.lag_conn) {
        impl.lag_conn.emplace(PgConnection::Connect(impl.options.conninfo, ConnectionKind::Normal,
                                                    LagApplicationName(impl.slot)));
      }
      server = QueryServerLag(*impl.lag_conn, impl.slot);
    } catch (...) {
      impl.lag_conn.reset();
      throw;
    }
  }
  LagInfo lag;
  lag.lag_bytes = server.slot_lag_bytes;
  std::lock_guard lk(impl.mu);
  if (impl.delivered_through && *impl.delivered_through >= server.current_lsn) {
    lag.lag_time = std::chrono::milliseconds(0);  // everything the server wrote was delivered
  } else if (impl.delivered_as_of) {
    // The server's clock against the server time at which the stream was last caught up (a
    // commit's timestamp, a keepalive's send time): it keeps growing while the stream stalls.
    const auto behind = server.now - *impl.delivered_as_of;
    lag.lag_time = std::max(std::chrono::milliseconds(0),
                            std::chrono::duration_cast<std::chrono::milliseconds>(behind));
  }
  return lag;
}

laredo::OrderingGuarantee Source::OrderingGuarantee() const {
  return laredo::OrderingGuarantee::TotalOrder;
}

SourceState Source::State() const { return impl_->state.load(); }

void Source::Close() {
  auto& impl = *impl_;
  impl.SetInUse(false);
  // Stream has returned and its thread is done: the connection is ours now. Send the final ACK
  // (the drain after Stream may have made more durable) before closing.
  if (impl.repl && impl.repl_streaming && impl.options.slot_mode == SlotMode::Stateful) {
    try {
      const Lsn flush = impl.AckedFlush();
      impl.repl->SendStatus(flush, flush, false);
    } catch (const std::exception& e) {
      Logger()->warn("pg source: final status update failed: {}", e.what());
    }
  }
  impl.repl.reset();
  impl.repl_streaming = false;
  impl.types.reset();
  {
    const std::lock_guard lk(impl.lag_mu);
    impl.lag_conn.reset();
  }
  if (impl.OwnsPublicationForThisRunOnly()) {
    // Named after a slot that is gone with its connection: nobody will use it again.
    try {
      auto conn = PgConnection::Connect(impl.options.conninfo, ConnectionKind::Normal);
      conn.Exec(fmt::format("DROP PUBLICATION IF EXISTS {}", conn.QuoteIdent(impl.publication)),
                "dropping the publication");
    } catch (const std::exception& e) {
      Logger()->warn("pg source: dropping publication {} failed: {}", impl.publication, e.what());
    }
  }
  impl.SetState(SourceState::Closed);
}

void Source::Impl::DropSlotAndPublication(bool drop_publication) {
  auto conn = PgConnection::Connect(options.conninfo, ConnectionKind::Normal);
  conn.ExecParams(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
      "WHERE slot_name = $1",
      {slot}, fmt::format("dropping replication slot {}", slot));
  if (drop_publication) {
    conn.Exec(fmt::format("DROP PUBLICATION IF EXISTS {}", conn.QuoteIdent(publication)),
              "dropping the publication");
  }
}

void Source::ResetSource(bool drop_publication) {
  auto& impl = *impl_;
  std::unique_lock lk(impl.mu);
  if (!impl.in_use) {
    lk.unlock();
    impl.DropSlotAndPublication(drop_publication);
    return;
  }
  // The running stream holds the slot, and only its thread may touch the replication connection:
  // hand the reset over and wait until that thread has carried it out.
  impl.reset_request = impl.reset_request.value_or(false) || drop_publication;
  const std::uint64_t ticket = ++impl.resets_requested;
  impl.reset_pending = true;
  impl.wake.notify_all();
  const bool done = impl.wake.wait_for(lk, std::chrono::seconds(60),
                                       [&] { return impl.resets_done >= ticket || !impl.in_use; });
  if (impl.resets_done < ticket) {
    // Withdrawn, so that a stream reaching its loop later does not reset behind our back.
    impl.reset_request.reset();
    impl.reset_pending = false;
    if (!done) throw RetryableError(codes::kPgResetTimeout, "ResetSource: the stream did not stop");
    // The source was closed meanwhile: the slot is free now.
    lk.unlock();
    impl.DropSlotAndPublication(drop_publication);
    return;
  }
  if (impl.reset_error) throw Error(codes::kPgResetFailed, "ResetSource: " + *impl.reset_error);
}

std::optional<std::uint64_t> Source::EstimateRows(const TableIdentifier& table) {
  auto conn = PgConnection::Connect(impl_->options.conninfo, ConnectionKind::Normal);
  return EstimateRowCount(conn, table);
}

}  // namespace laredo::pg
