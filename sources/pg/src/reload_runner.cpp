#include "reload_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "pg_snapshot.hpp"
#include "type_mapping.hpp"

namespace laredo::pg {
namespace {

using Clock = std::chrono::steady_clock;

std::string RandomInstance() {
  std::random_device rd;
  const std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
  return fmt::format("{:016x}", v);
}

// "(a, b)" of quoted names, or "($1, $2)" of parameters from `first`.
std::string Tuple(const std::vector<std::string>& items) {
  return fmt::format("({})", fmt::join(items, ", "));
}
std::vector<std::string> Params(std::size_t first, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(fmt::format("${}", first + i));
  return out;
}

}  // namespace

ReloadRunner::ReloadRunner(Settings settings)
    : settings_(std::move(settings)), instance_(RandomInstance()) {}

void ReloadRunner::Request(const TableIdentifier& table) {
  std::lock_guard lk(mu_);
  if (reloading_ == table || std::find(queue_.begin(), queue_.end(), table) != queue_.end()) return;
  queue_.push_back(table);
  ++stats_.requested;
  has_work_ = true;
}

void ReloadRunner::AwaitTransactionsBefore(const TableIdentifier& table, std::string server_time) {
  older_than_[table] = std::move(server_time);
}

void ReloadRunner::BeginAgain(const TableIdentifier& table) {
  if ((active_ && active_->table == table) || (resume_ && resume_->table == table)) again_ = true;
}

void ReloadRunner::Clear() {
  older_than_.clear();
  again_ = false;
  resume_.reset();
  seen_through_.reset();
  // A baseline starts the slot again (or confirms past everything): nothing to hold for.
  checkpoints_.clear();
  cap_.reset();
  std::lock_guard lk(mu_);
  queue_.clear();
  reloading_.reset();
  active_.reset();
  has_work_ = false;
}

ReloadStats ReloadRunner::Statistics() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void ReloadRunner::BeginStream(
    ChangeHandler& inner, const std::map<TableIdentifier, std::vector<ColumnDefinition>>& columns,
    TypeResolver& types, const StreamPosition& from, std::stop_token stop) {
  inner_ = &inner;
  columns_ = &columns;
  types_ = &types;
  stop_ = std::move(stop);
  failures_ = 0;
  stream_from_ = from;
  if (resume_) {
    auto checkpoint = std::move(*resume_);
    resume_.reset();
    const bool again = std::exchange(again_, false);
    restart_pending_ = false;
    handed_on_ = true;
    ResumeFrom(std::move(checkpoint), from, again);
    return;
  }
  // The merge knows what the copy holds only if everything it handed on got there, and the new
  // stream repeats none of that (it may repeat changes the merge kept from the copy: skipped).
  const bool known =
      handed_on_ && (!handed_through_ || StreamPosition::Compare(from, *handed_through_) >= 0);
  const bool again = restart_pending_ || again_ || !known;
  restart_pending_ = false;
  again_ = false;
  handed_on_ = true;
  if (!active_) return;
  if (again || !active_->begun) {
    Restart();
  } else {
    Continue();
  }
}

void ReloadRunner::ResumeAfterRestart(ReloadCheckpoint checkpoint) {
  std::lock_guard lk(mu_);
  reloading_ = checkpoint.table;
  resume_ = std::move(checkpoint);
}

std::string ReloadRunner::ColumnsSignature(const std::vector<ColumnDefinition>& columns) {
  std::string out;
  for (const auto& c : columns) {
    out += fmt::format("{}:{}:{}:{};", c.name.size(), c.name, c.type_oid,
                       c.primary_key ? c.primary_key_ordinal : 0);
  }
  return out;
}

void ReloadRunner::ResumeFrom(ReloadCheckpoint checkpoint, const StreamPosition& from,
                              bool from_nothing) {
  if (!Start(checkpoint.table)) {
    throw RebaselineRequired(fmt::format(
        "continuing the reload of {}: the table can no longer be reloaded (see the log); taking "
        "a fresh baseline",
        checkpoint.table.ToString()));
  }
  Active& a = *active_;
  const char* why = nullptr;
  if (from_nothing) {
    why = "a target of it joined";  // it gets the reload whole
  } else if (ColumnsSignature(a.columns) != checkpoint.columns) {
    why = "its columns changed";
  } else if (StreamPosition::CompareResumePoints(from, checkpoint.through) > 0) {
    why = "the stream resumes after its checkpoint";
  }
  std::vector<Row> read_again;
  if (why == nullptr) {
    try {
      for (const auto& values : checkpoint.read_again) {
        if (values.size() != a.key_index.size()) throw std::invalid_argument("key shape");
        Row key;
        for (std::size_t k = 0; k < values.size(); ++k) {
          const auto i = a.key_index[k];
          key[a.columns[i].name] = TextToValue(a.value_types[i], values[k]);
        }
        read_again.push_back(std::move(key));
      }
    } catch (const std::exception&) {
      why = "a key it holds does not fit the table";  // the key's values are the user's data
    }
  }
  if (why != nullptr) {
    // Begun from nothing at the next Step (OnReloadBegin drops the half-built copies).
    Logger()->warn("pg source: the reload of {} begins again from nothing: {}", a.table.ToString(),
                   why);
    std::lock_guard lk(mu_);
    ++stats_.restarted;
    return;
  }
  a.begun = true;
  a.bounded = checkpoint.bounded;
  a.scanned = checkpoint.scanned;
  a.after = std::move(checkpoint.after);
  a.last = std::move(checkpoint.last);
  a.merge.Resume(std::move(read_again));
  skip_through_ = checkpoint.through;
  merged_through_ = checkpoint.through;
  // Still held: the next acknowledged checkpoint moves it on.
  checkpoints_.clear();
  cap_ = Mark{.through = checkpoint.through, .end = false};
  {
    std::lock_guard lk(mu_);
    ++stats_.resumed;
  }
  Logger()->info("pg source: continuing the reload of {} after a restart, from its checkpoint",
                 a.table.ToString());
}

StreamPosition ReloadRunner::Through() const {
  StreamPosition through = stream_from_.value_or(StreamPosition{});
  for (const auto* p : {&seen_through_, &skip_through_}) {
    if (*p && StreamPosition::Compare(**p, through) > 0) through = **p;
  }
  return through;
}

void ReloadRunner::Checkpoint() {
  const Active& a = *active_;
  ReloadCheckpoint checkpoint{.table = a.table,
                              .slot = settings_.slot,
                              .columns = ColumnsSignature(a.columns),
                              .through = Through(),
                              .bounded = a.bounded,
                              .scanned = a.scanned,
                              .after = a.after,
                              .last = a.last,
                              .read_again = {}};
  for (const auto& key : a.merge.ReadAgain(std::numeric_limits<std::size_t>::max())) {
    std::vector<std::string> values;
    for (const auto i : a.key_index) values.push_back(key.at(a.columns[i].name).ToString());
    checkpoint.read_again.push_back(std::move(values));
  }
  {
    const HandOnGuard guard{*this};
    inner_->OnReloadCheckpoint(a.table, checkpoint.Encode());
  }
  checkpoints_.push_back(Mark{.through = checkpoint.through, .end = false});
}

std::optional<Lsn> ReloadRunner::FlushCap(const StreamPosition& acked) {
  while (!checkpoints_.empty() &&
         StreamPosition::CompareResumePoints(checkpoints_.front().through, acked) <= 0) {
    cap_ = checkpoints_.front();
    checkpoints_.pop_front();
  }
  if (!cap_ || cap_->end) return std::nullopt;
  return cap_->through.ack_lsn;
}

void ReloadRunner::Continue() {
  if (active_->pending) {
    // Its watermark may still arrive: ignored, as no chunk of that number is pending.
    active_->merge.AbandonWindow();
    active_->pending.reset();
  }
  skip_through_ = merged_through_;
  next_read_ = {};
  {
    std::lock_guard lk(mu_);
    ++stats_.continued;
  }
  Logger()->info("pg source: continuing the reload of {} from its last merged chunk ({} rows held)",
                 active_->table.ToString(), active_->merge.held());
}

void ReloadRunner::Restart() {
  const auto table = active_->table;
  const bool begun = active_->begun;
  if (!Start(table)) {
    // Begun or only asked for, the table is not dropped (see Step): a baseline reads it.
    throw RebaselineRequired(fmt::format(
        "reloading {}: the table can no longer be reloaded (see the log); taking a fresh baseline",
        table.ToString()));
  }
  if (begun) {
    // The checkpoints of the copy dropped here no longer need the WAL after them.
    checkpoints_.push_back(Mark{.through = Through(), .end = true});
    // Begun again at once, before the stream's first change: the copy half built is dropped
    // now, and changes of rows it held go through the merge instead of reaching it (an update
    // of a row it lacks would otherwise be one the engine cannot fill, and re-baseline).
    const HandOnGuard guard{*this};
    inner_->OnReloadBegin(active_->table, active_->columns);
    active_->begun = true;
    std::lock_guard lk(mu_);
    ++stats_.restarted;
  }
}

void ReloadRunner::EndStream() noexcept {
  inner_ = nullptr;
  columns_ = nullptr;
  types_ = nullptr;
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): a copy, `active_` may hold the original.
bool ReloadRunner::Start(TableIdentifier table) {
  active_.reset();
  handed_through_.reset();
  merged_through_.reset();
  skip_through_.reset();
  const auto it = columns_->find(table);
  std::vector<std::string> key_names;
  std::vector<std::size_t> key_index;
  if (it != columns_->end()) {
    std::vector<std::pair<int, std::size_t>> keys;
    for (std::size_t i = 0; i < it->second.size(); ++i) {
      if (it->second[i].primary_key) keys.emplace_back(it->second[i].primary_key_ordinal, i);
    }
    std::sort(keys.begin(), keys.end());
    for (const auto& [ordinal, i] : keys) {
      key_names.push_back(it->second[i].name);
      key_index.push_back(i);
    }
  }
  if (key_index.empty()) {
    Logger()->error("pg source: cannot reload {}: {}", table.ToString(),
                    it == columns_->end() ? "the stream has no columns of it" : "no primary key");
    std::lock_guard lk(mu_);
    reloading_.reset();
    stats_.last_error = fmt::format("{}: not reloadable", table.ToString());
    return false;
  }
  std::vector<std::uint32_t> value_types;
  for (const auto& c : it->second) value_types.push_back(types_->ValueType(c.type_oid));
  active_.emplace(Active{.table = table,
                         .generation = ++generations_,
                         .columns = it->second,
                         .value_types = std::move(value_types),
                         .key_index = std::move(key_index),
                         .merge = ReloadMerge(table, std::move(key_names)),
                         .begun = false,
                         .scanned = false,
                         .after = std::nullopt,
                         .last = std::nullopt,
                         .bounded = false,
                         .pending = std::nullopt,
                         .older_than = std::nullopt});
  if (const auto wait = older_than_.find(table); wait != older_than_.end()) {
    active_->older_than = wait->second;
  }
  {
    std::lock_guard lk(mu_);
    reloading_ = table;
  }
  next_read_ = {};
  return true;
}

void ReloadRunner::Step() {
  if (restart_pending_) {
    restart_pending_ = false;
    if (active_) Restart();
  }
  if (!active_) {
    if (!has_work_) return;
    std::optional<TableIdentifier> next;
    {
      std::lock_guard lk(mu_);
      if (!queue_.empty()) {
        next = queue_.front();
        queue_.pop_front();
      }
      has_work_ = !queue_.empty();
    }
    if (!next) return;
    if (!Start(*next)) {
      // A reload asked for is never dropped: a pipeline that waits for it (a table added while
      // running, an update it could not fill) would wait, discarding and holding the ACK,
      // for good. The table lost what a reload needs since it was asked for (its primary key):
      // a fresh baseline reads it instead.
      throw RebaselineRequired(fmt::format(
          "reloading {}: the table can no longer be reloaded alone (see the log); taking a fresh "
          "baseline",
          next->ToString()));
    }
    Logger()->info("pg source: reloading {} while streaming (chunks of {} rows)", next->ToString(),
                   settings_.chunk_rows);
  }
  if (!active_->begun) {
    const HandOnGuard guard{*this};
    inner_->OnReloadBegin(active_->table, active_->columns);
    active_->begun = true;
  }
  if (active_->pending || Clock::now() < next_read_) return;
  ReadChunk();
}

void ReloadRunner::ReadChunk() {
  const auto number = ++chunk_numbers_;
  try {
    if (!conn_) {
      conn_.emplace(PgConnection::Connect(settings_.conninfo, ConnectionKind::Normal,
                                          "laredo reload " + settings_.slot));
      // A read held up by a lock must not hold the stream (which waits for it) for long. The
      // walsender sends only flushed WAL: on a server with synchronous_commit = off a watermark
      // would wait for the WAL writer (up to wal_writer_delay, 200 ms by default) per chunk.
      conn_->Exec("SET statement_timeout = '30s'; SET synchronous_commit = local",
                  "setting up the reload's connection");
    }
    // A read waiting on a lock (a migration) must not hold up a stop for its statement_timeout.
    const CancelOnStop cancel(*conn_, stop_);
    if (active_->older_than && OlderTransactionsOpen(*conn_)) {
      --chunk_numbers_;
      next_read_ = Clock::now() + std::chrono::milliseconds(50);
      return;
    }
    if (!active_->bounded) ReadBound(*conn_);
    auto chunk = Read(*conn_, number);
    auto seen = PgSnapshot::Parse(chunk.snapshot);
    if (StreamPassedUnseenTransaction(seen)) {
      // Committed, handed on by the stream, and not yet visible to the read (see the class
      // comment): the chunk may hold rows from before it. Read again in a moment (its watermark
      // is ignored: no chunk is pending).
      {
        std::lock_guard lk(mu_);
        ++stats_.reads_repeated;
      }
      Logger()->debug(
          "pg source: reload chunk {} read again: its snapshot missed a transaction "
          "the stream had handed on",
          number);
      next_read_ = Clock::now() + std::chrono::milliseconds(2);
      return;
    }
    // Counts only: key values are the user's data.
    Logger()->debug("pg source: reload chunk {}: {} rows, {} read again, scanned {}", number,
                    chunk.rows.size(), chunk.requested_again.size(), chunk.scanned);
    // From here on every change the stream hands on is newer than the chunk, unless the read's
    // snapshot saw it (the stream lags behind the read).
    active_->merge.OpenWindow(std::move(chunk.rows), chunk.requested_again, std::move(seen));
    chunk.rows.clear();
    active_->pending = std::move(chunk);
    failures_ = 0;
  } catch (const std::exception& e) {
    // A watermark that was committed is ignored: no chunk is pending, no window open.
    conn_.reset();
    if (stop_.stop_requested()) return;  // cancelled by the stop: not a failure
    ++failures_;
    {
      std::lock_guard lk(mu_);
      ++stats_.failed_reads;
      stats_.last_error = e.what();
    }
    if (failures_ > settings_.max_attempts) {
      throw RebaselineRequired(fmt::format(
          "reloading {}: {} chunk reads failed in a row, the last: {}; taking a fresh baseline",
          active_->table.ToString(), failures_, e.what()));
    }
    const auto delay = settings_.backoff.Delay(failures_);
    Logger()->warn(
        "pg source: reloading {}: reading a chunk failed (attempt {} of {}), again in "
        "{} ms: {}",
        active_->table.ToString(), failures_, settings_.max_attempts, delay.count(), e.what());
    next_read_ = Clock::now() + delay;
  }
}

bool ReloadRunner::OlderTransactionsOpen(PgConnection& conn) {
  const auto open = conn.ExecParams(
      "SELECT count(*), min(pid) FROM pg_stat_activity WHERE datname = current_database() AND "
      "pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start < $1",
      {*active_->older_than}, "looking for transactions older than the publication change");
  const auto count = GetValue(open.get(), 0, 0).value_or("0");
  if (count == "0") {
    active_->older_than.reset();
    older_than_.erase(active_->table);
    return false;
  }
  const auto message = fmt::format(
      "{} waits for {} transaction(s) open since before it joined the publication to end "
      "(pg_stat_activity, e.g. pid {})",
      active_->table.ToString(), count, GetValue(open.get(), 0, 1).value_or("?"));
  std::lock_guard lk(mu_);
  if (stats_.last_error != message) {
    Logger()->warn("pg source: loading {}", message);
    stats_.last_error = message;
  }
  return true;
}

ReloadRunner::Sql ReloadRunner::QueryParts(PgConnection& conn) const {
  const Active& a = *active_;
  std::vector<std::string> columns;
  for (const auto& c : a.columns) columns.push_back(conn.QuoteIdent(c.name));
  Sql sql;
  for (const auto i : a.key_index) sql.keys.push_back(conn.QuoteIdent(a.columns[i].name));
  std::string filter;
  if (const auto it = settings_.row_filters.find(a.table);
      it != settings_.row_filters.end() && !it->second.empty()) {
    filter = "(" + it->second + ") AND ";
  }
  sql.select = fmt::format("SELECT {} FROM {} WHERE {}", fmt::join(columns, ", "),
                           conn.QuoteTable(a.table.schema, a.table.table), filter);
  return sql;
}

void ReloadRunner::ReadBound(PgConnection& conn) {
  Active& a = *active_;
  const auto sql = QueryParts(conn);
  std::vector<std::string> descending;
  for (const auto& k : sql.keys) descending.push_back(k + " DESC");
  const auto result =
      conn.Exec(fmt::format("{}true ORDER BY {} LIMIT 1", sql.select, fmt::join(descending, ", ")),
                fmt::format("reading the greatest key of {}", a.table.ToString()));
  if (PQntuples(result.get()) == 0) {
    a.scanned = true;  // empty: every row comes through the stream
  } else {
    std::vector<std::string> last;
    for (const auto i : a.key_index) {
      last.push_back(GetValue(result.get(), 0, static_cast<int>(i)).value_or(""));
    }
    a.last = std::move(last);
  }
  a.bounded = true;
}

ReloadRunner::Chunk ReloadRunner::Read(PgConnection& conn, std::uint64_t number) {
  const Active& a = *active_;
  Chunk chunk{.number = number,
              .rows = {},
              .requested_again = a.merge.ReadAgain(settings_.chunk_rows),
              .scanned = a.scanned,
              .after = a.after};
  const auto parts = QueryParts(conn);
  const auto& keys = parts.keys;
  const auto& select = parts.select;
  const auto what = fmt::format("reading a chunk of {}", a.table.ToString());
  // One snapshot for the reads, and what it sees (a failure drops the connection, and so the
  // transaction).
  {
    const auto snapshot = conn.Exec(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_current_snapshot()::text",
        what);
    chunk.snapshot = GetValue(snapshot.get(), 0, 0).value_or("");
  }
  if (!chunk.scanned) {
    std::vector<std::string> params;
    std::string sql = select;
    if (chunk.after) {
      params = *chunk.after;
      sql += fmt::format("{} > {} AND ", Tuple(keys), Tuple(Params(1, keys.size())));
    }
    sql += fmt::format("{} <= {}", Tuple(keys), Tuple(Params(params.size() + 1, keys.size())));
    params.insert(params.end(), a.last->begin(), a.last->end());
    sql += fmt::format(" ORDER BY {} LIMIT {}", fmt::join(keys, ", "), settings_.chunk_rows);
    const auto result = conn.ExecParams(sql, params, what);
    const int n = PQntuples(result.get());
    DecodeRows(result.get(), chunk.rows);
    if (static_cast<std::size_t>(n) < settings_.chunk_rows) {
      chunk.scanned = true;
    } else {
      std::vector<std::string> last;
      for (const auto i : a.key_index) {
        last.push_back(GetValue(result.get(), n - 1, static_cast<int>(i)).value_or(""));
      }
      chunk.after = std::move(last);
    }
  }
  if (!chunk.requested_again.empty()) {
    std::vector<std::string> params;
    std::vector<std::string> tuples;
    for (const auto& key : chunk.requested_again) {
      tuples.push_back(Tuple(Params(params.size() + 1, keys.size())));
      for (const auto i : a.key_index) params.push_back(key.at(a.columns[i].name).ToString());
    }
    const auto sql = fmt::format("{}{} IN ({})", select, Tuple(keys), fmt::join(tuples, ", "));
    const auto result = conn.ExecParams(sql, params, what);
    DecodeRows(result.get(), chunk.rows);
  }
  // The high watermark in the same round trip, committed after the read's transaction ended.
  conn.Exec(
      fmt::format("COMMIT; SELECT pg_logical_emit_message(true, {}, {})",
                  conn.QuoteLiteral(kWatermarkPrefix), conn.QuoteLiteral(Watermark(number, 'h'))),
      "ending a chunk's read and writing its watermark");
  return chunk;
}

void ReloadRunner::NoteTransaction(const ChangeEvent& change) {
  if (!change.transaction_id) return;
  const auto xid = static_cast<std::uint32_t>(*change.transaction_id);
  if (last_xid_ == xid) return;  // a transaction's changes come together
  last_xid_ = xid;
  // Long enough for any transaction still invisible to a read: the gap between its commit
  // record and its visibility is a few scheduling delays, not thousands of transactions.
  constexpr std::size_t kKept = 1U << 16;
  recent_xids_.push_back(xid);
  ++recent_count_[xid];
  if (recent_xids_.size() > kKept) {
    const auto old = recent_xids_.front();
    recent_xids_.pop_front();
    if (--recent_count_[old] == 0) recent_count_.erase(old);
  }
}

bool ReloadRunner::StreamPassedUnseenTransaction(const PgSnapshot& seen) const {
  return std::any_of(recent_count_.begin(), recent_count_.end(),
                     [&](const auto& entry) { return !seen.Sees(entry.first); });
}
void ReloadRunner::DecodeRows(const PGresult* result, std::vector<Row>& out) const {
  const Active& a = *active_;
  std::vector<std::string> names;
  for (const auto& c : a.columns) names.push_back(c.name);
  const auto shared = ColumnNames::Make(std::move(names));
  const int n = PQntuples(result);
  for (int r = 0; r < n; ++r) {
    std::vector<Value> values;
    values.reserve(a.columns.size());
    for (std::size_t i = 0; i < a.columns.size(); ++i) {
      const auto text = GetValue(result, r, static_cast<int>(i));
      values.push_back(text ? TextToValue(a.value_types[i], *text) : Value());
    }
    out.emplace_back(shared, std::move(values));
  }
}

std::string ReloadRunner::Watermark(std::uint64_t number, char kind) const {
  return fmt::format("{}/{}/{}/{}", instance_, active_->generation, number, kind);
}

void ReloadRunner::OnWatermark(const LogicalMessage& message) {
  if (!active_ || !active_->pending || inner_ == nullptr) return;
  Chunk& chunk = *active_->pending;
  // Another consumer's, an abandoned chunk's, or one of a reload begun again: not this chunk's.
  if (message.content != Watermark(chunk.number, 'h') || !active_->merge.window_open()) return;
  auto rows = active_->merge.CloseWindow();
  active_->scanned = chunk.scanned;
  active_->after = std::move(chunk.after);
  active_->pending.reset();
  {
    std::lock_guard lk(mu_);
    ++stats_.chunks;
    stats_.rows += rows.size();
  }
  if (!rows.empty()) {
    const HandOnGuard guard{*this};
    inner_->OnReloadRows(active_->table, rows);
  }
  next_read_ = Clock::now() + settings_.chunk_pause;
  if (active_->scanned && active_->merge.read_again_empty()) {
    Finish();
  } else {
    Checkpoint();
  }
}

void ReloadRunner::Finish() {
  const auto table = active_->table;
  const auto held = active_->merge.held();
  {
    const HandOnGuard guard{*this};
    inner_->OnReloadEnd(table);
  }
  checkpoints_.push_back(Mark{.through = Through(), .end = true});
  active_.reset();
  handed_through_.reset();
  merged_through_.reset();
  skip_through_.reset();
  std::lock_guard lk(mu_);
  reloading_.reset();
  ++stats_.completed;
  Logger()->info("pg source: reloaded {} while streaming ({} rows)", table.ToString(), held);
}

void ReloadRunner::OnChange(ChangeEvent event) { OnChanges(std::span<ChangeEvent>(&event, 1)); }

void ReloadRunner::OnChanges(std::span<ChangeEvent> events) {
  for (const auto& e : events) NoteTransaction(e);
  if (!events.empty()) {
    if (const auto* p = std::any_cast<StreamPosition>(&events.back().position)) seen_through_ = *p;
  }
  if (!active_ || !active_->begun) {
    inner_->OnChanges(events);
    return;
  }
  const HandOnGuard guard{*this};  // also for a change the merge rejects (DataError)
  std::size_t kept = 0;
  std::optional<Position> dropped_last;  // the batch ends with a change the copy does not need
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto* position = std::any_cast<StreamPosition>(&events[i].position);
    bool pass = true;
    if (events[i].table == active_->table) {
      if (skip_through_ && position != nullptr &&
          StreamPosition::Compare(*position, *skip_through_) <= 0) {
        pass = false;  // the previous stream's, merged then
      } else {
        pass = active_->merge.OnChange(events[i]);
        if (position != nullptr) merged_through_ = *position;
      }
    }
    if (!pass) {
      if (i + 1 == events.size()) dropped_last = events[i].position;
      continue;
    }
    if (position != nullptr) handed_through_ = *position;
    if (i != kept) std::swap(events[i], events[kept]);
    ++kept;
  }
  if (kept > 0) inner_->OnChanges(events.first(kept));
  // Handled all the same: AwaitApplied may answer for it.
  if (dropped_last) inner_->OnProgress(*dropped_last);
}

void ReloadRunner::OnSchemaChange(const TableIdentifier& table,
                                  std::vector<ColumnDefinition> columns) {
  inner_->OnSchemaChange(table, std::move(columns));
  if (active_ && active_->table == table && active_->begun) {
    // The copy is read with the columns it began with: begin again with the new ones (the
    // stream's columns are current once this call returned, so the next Step reads them).
    Logger()->info("pg source: the columns of {} changed while reloading it; reloading again",
                   table.ToString());
    active_->pending.reset();
    restart_pending_ = true;
  }
}

}  // namespace laredo::pg
