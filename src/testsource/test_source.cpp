#include "laredo/testsource/test_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <variant>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::testsource {
namespace {

struct SchemaChange {
  TableIdentifier table;
  std::vector<ColumnDefinition> columns;
};

// A failure armed to fire once the stream has delivered everything up to `after`.
struct ArmedFailure {
  enum class Kind : std::uint8_t { Fatal, Rebaseline, Retryable };
  std::string message;
  std::uint64_t after = 0;
  Kind kind = Kind::Fatal;
};

struct Table {
  std::vector<ColumnDefinition> columns;
  std::vector<ColumnDefinition> initial_columns;  // before any EmitSchemaChange
  std::vector<std::string> key_columns;
  // Current contents keyed by the rendered primary key, so re-baselines see emitted changes.
  std::map<std::string, Row> rows;
};

}  // namespace

struct TestSource::Impl {
  explicit Impl(TestSourceOptions o) : options(o) {}

  TestSourceOptions options;
  mutable std::mutex mu;
  // `cv` wakes the stream (new events, failures, resume, close); `waiters_cv` wakes test threads
  // in Await*. Separate, so a stream delivering a million events wakes nobody who is not waiting.
  mutable std::condition_variable_any cv;
  mutable std::condition_variable delivered_cv;
  mutable std::condition_variable ack_cv;
  mutable int delivered_waiters = 0;
  mutable int ack_waiters = 0;
  std::map<TableIdentifier, Table> tables;
  // position = index + 1. A deque: appending never moves existing entries, so the stream can copy
  // an entry outside the lock while tests keep emitting.
  std::deque<std::variant<ChangeEvent, SchemaChange, InvalidRecord>> log;
  std::vector<ValidationError> validation_errors;
  std::optional<std::string> init_failure;
  std::optional<std::pair<std::string, std::uint64_t>> baseline_failure;
  std::optional<ArmedFailure> stream_failure;
  std::vector<std::uint64_t> acks;
  std::vector<std::uint64_t> stream_starts;
  std::vector<std::uint64_t> baseline_positions;
  std::uint64_t delivered = 0;
  int init_count = 0;
  int baseline_count = 0;
  int reload_count = 0;
  std::deque<TableIdentifier> reloads;  // requested, delivered when the stream is caught up
  bool paused = false;
  /// An open EmitTransaction: its id and commit time, and the log size when it began (the
  /// stream delivers nothing from there until it ends).
  struct OpenTransaction {
    std::uint64_t id = 0;
    std::chrono::system_clock::time_point commit_time;
    std::size_t first = 0;
  };
  std::optional<OpenTransaction> transaction;
  /// Entries the stream may deliver: all but an open transaction's.
  [[nodiscard]] std::size_t Visible() const {
    return transaction ? transaction->first : log.size();
  }
  bool closed = false;
  SourceState state = SourceState::Closed;

  Table& TableOf(const TableIdentifier& t) {
    auto it = tables.find(t);
    if (it == tables.end()) {
      throw Error(codes::kUnknownTable, "TestSource: no schema set for " + t.ToString());
    }
    return it->second;
  }

  // Sets the columns and derives the key from them (all columns when none is a key column).
  static void SetColumns(Table& t, std::vector<ColumnDefinition> columns) {
    std::vector<std::pair<int, std::string>> keys;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].primary_key) {
        keys.emplace_back(columns[i].primary_key_ordinal != 0 ? columns[i].primary_key_ordinal
                                                              : static_cast<int>(i + 1),
                          columns[i].name);
      }
    }
    std::sort(keys.begin(), keys.end());
    t.key_columns.clear();
    for (auto& [ordinal, name] : keys) t.key_columns.push_back(std::move(name));
    if (t.key_columns.empty()) {  // no key: the whole row identifies it
      for (const auto& c : columns) t.key_columns.push_back(c.name);
    }
    t.columns = std::move(columns);
  }

  static std::string KeyOf(const Table& table, const Row& row) {
    std::string key;
    for (const auto& column : table.key_columns) {
      const Value* v = row.Find(column);
      if (v == nullptr) {
        throw Error(codes::kNoKey, fmt::format("TestSource: row {} lacks key column '{}'",
                                               row.ToString(), column));
      }
      key += fmt::format("{}:{}|", static_cast<int>(v->kind()), v->ToString());
    }
    return key;
  }

  std::uint64_t Append(ChangeEvent event) {
    event.position = static_cast<std::uint64_t>(log.size() + 1);
    event.timestamp = std::chrono::system_clock::now();
    if (transaction) {
      event.transaction_id = transaction->id;
      event.commit_time = transaction->commit_time;
    }
    log.emplace_back(std::move(event));
    if (!paused) cv.notify_all();  // a paused stream has nothing to do with it
    return log.size();
  }

  static void Notify(std::condition_variable& cv, int waiters) {
    if (waiters > 0) cv.notify_all();
  }

  template <typename Pred>
  static bool Await(std::unique_lock<std::mutex>& lk, std::condition_variable& cv, int& waiters,
                    std::chrono::milliseconds timeout, Pred pred) {
    ++waiters;
    const bool ok = cv.wait_for(lk, timeout, pred);
    --waiters;
    return ok;
  }
};

TestSource::TestSource(TestSourceOptions options) : impl_(std::make_unique<Impl>(options)) {}
TestSource::~TestSource() = default;

void TestSource::SetSchema(const TableIdentifier& table, std::vector<ColumnDefinition> columns) {
  std::lock_guard lk(impl_->mu);
  Table& t = impl_->tables[table];
  t.initial_columns = columns;
  impl_->SetColumns(t, std::move(columns));
}

void TestSource::AddRow(const TableIdentifier& table, Row row) {
  std::lock_guard lk(impl_->mu);
  Table& t = impl_->TableOf(table);
  t.rows[Impl::KeyOf(t, row)] = std::move(row);
}

void TestSource::AddValidationError(ValidationError error) {
  std::lock_guard lk(impl_->mu);
  impl_->validation_errors.push_back(std::move(error));
}

std::uint64_t TestSource::EmitInsert(const TableIdentifier& table, Row row) {
  std::lock_guard lk(impl_->mu);
  Table& t = impl_->TableOf(table);
  t.rows[Impl::KeyOf(t, row)] = row;
  return impl_->Append(
      ChangeEvent{.table = table, .action = ChangeAction::Insert, .new_values = std::move(row)});
}

std::uint64_t TestSource::EmitUpdate(const TableIdentifier& table, Row new_row, Row old_row) {
  std::lock_guard lk(impl_->mu);
  Table& t = impl_->TableOf(table);
  Row stored = new_row;
  auto old_it = t.rows.find(Impl::KeyOf(t, old_row.empty() ? new_row : old_row));
  if (old_it != t.rows.end()) {
    for (std::size_t i = 0; i < stored.size(); ++i) {
      if (stored.value(i).IsUnchanged()) {
        if (const Value* prev = old_it->second.Find((*stored.names())[i])) stored.value(i) = *prev;
      }
    }
    t.rows.erase(old_it);
  }
  t.rows[Impl::KeyOf(t, new_row)] = std::move(stored);
  return impl_->Append(ChangeEvent{.table = table,
                                   .action = ChangeAction::Update,
                                   .new_values = std::move(new_row),
                                   .old_values = std::move(old_row)});
}

std::uint64_t TestSource::EmitDelete(const TableIdentifier& table, Row identity) {
  std::lock_guard lk(impl_->mu);
  Table& t = impl_->TableOf(table);
  t.rows.erase(Impl::KeyOf(t, identity));
  return impl_->Append(ChangeEvent{
      .table = table, .action = ChangeAction::Delete, .old_values = std::move(identity)});
}

std::uint64_t TestSource::EmitTransaction(std::uint64_t transaction_id,
                                          std::chrono::system_clock::time_point commit_time,
                                          const std::function<void()>& emit) {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->transaction)
      throw Error(codes::kNestedTransaction, "TestSource: EmitTransaction nests");
    impl_->transaction = Impl::OpenTransaction{transaction_id, commit_time, impl_->log.size()};
  }
  try {
    emit();
  } catch (...) {
    std::lock_guard lk(impl_->mu);
    impl_->transaction.reset();
    impl_->cv.notify_all();
    throw;
  }
  std::lock_guard lk(impl_->mu);
  const std::size_t first = impl_->transaction->first;
  impl_->transaction.reset();
  for (std::size_t i = impl_->log.size(); i > first; --i) {
    if (auto* event = std::get_if<ChangeEvent>(&impl_->log[i - 1])) {
      event->ends_transaction = true;
      break;
    }
  }
  impl_->cv.notify_all();
  return impl_->log.size();
}

std::uint64_t TestSource::EmitTruncate(const TableIdentifier& table) {
  std::lock_guard lk(impl_->mu);
  impl_->TableOf(table).rows.clear();
  return impl_->Append(ChangeEvent{.table = table, .action = ChangeAction::Truncate});
}

void TestSource::EmitSchemaChange(const TableIdentifier& table,
                                  std::vector<ColumnDefinition> columns) {
  std::lock_guard lk(impl_->mu);
  Table& t = impl_->TableOf(table);
  // Dropped columns leave the stored rows, as they leave a database's.
  for (auto& [key, row] : t.rows) {
    std::vector<std::string> gone;
    for (const auto& [name, value] : row) {
      if (std::none_of(columns.begin(), columns.end(),
                       [&](const ColumnDefinition& c) { return c.name == name; })) {
        gone.emplace_back(name);
      }
    }
    for (const auto& name : gone) row.erase(name);
  }
  Impl::SetColumns(t, columns);
  // Takes a log slot so it is ordered with the changes, but it is not a position of its own.
  impl_->log.emplace_back(SchemaChange{table, std::move(columns)});
  impl_->cv.notify_all();
}

std::uint64_t TestSource::EmitInvalidRecord(std::optional<TableIdentifier> table,
                                            std::string payload, std::string error) {
  std::lock_guard lk(impl_->mu);
  const auto position = static_cast<std::uint64_t>(impl_->log.size() + 1);
  impl_->log.emplace_back(InvalidRecord{.table = std::move(table),
                                        .position = position,
                                        .payload = std::move(payload),
                                        .error = std::move(error)});
  if (!impl_->paused) impl_->cv.notify_all();
  return position;
}

void TestSource::FailNextInit(std::string message) {
  std::lock_guard lk(impl_->mu);
  impl_->init_failure = std::move(message);
}

void TestSource::FailNextBaseline(std::string message, std::uint64_t after_rows) {
  std::lock_guard lk(impl_->mu);
  impl_->baseline_failure = {std::move(message), after_rows};
}

void TestSource::FailStream(std::string message) {
  std::lock_guard lk(impl_->mu);
  impl_->stream_failure =
      ArmedFailure{std::move(message), impl_->log.size(), ArmedFailure::Kind::Fatal};
  impl_->cv.notify_all();
}

void TestSource::EndStreamRequiringRebaseline(std::string reason) {
  std::lock_guard lk(impl_->mu);
  impl_->stream_failure =
      ArmedFailure{std::move(reason), impl_->log.size(), ArmedFailure::Kind::Rebaseline};
  impl_->cv.notify_all();
}

void TestSource::InterruptStream(std::string message) {
  std::lock_guard lk(impl_->mu);
  impl_->stream_failure =
      ArmedFailure{std::move(message), impl_->log.size(), ArmedFailure::Kind::Retryable};
  impl_->cv.notify_all();
}

std::vector<std::uint64_t> TestSource::AckedPositions() const {
  std::lock_guard lk(impl_->mu);
  return impl_->acks;
}

std::optional<std::uint64_t> TestSource::LastAck() const {
  std::lock_guard lk(impl_->mu);
  if (impl_->acks.empty()) return std::nullopt;
  return impl_->acks.back();
}

bool TestSource::AwaitAck(std::uint64_t position, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(impl_->mu);
  return Impl::Await(lk, impl_->ack_cv, impl_->ack_waiters, timeout,
                     [&] { return !impl_->acks.empty() && impl_->acks.back() >= position; });
}

bool TestSource::AwaitDelivered(std::uint64_t position, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(impl_->mu);
  return Impl::Await(lk, impl_->delivered_cv, impl_->delivered_waiters, timeout,
                     [&] { return impl_->delivered >= position; });
}

std::vector<Row> TestSource::Contents(const TableIdentifier& table) const {
  std::lock_guard lk(impl_->mu);
  std::vector<Row> rows;
  if (auto it = impl_->tables.find(table); it != impl_->tables.end()) {
    for (const auto& [key, row] : it->second.rows) rows.push_back(row);
  }
  return rows;
}

std::vector<std::uint64_t> TestSource::BaselinePositions() const {
  std::lock_guard lk(impl_->mu);
  return impl_->baseline_positions;
}

std::uint64_t TestSource::CurrentPosition() const {
  std::lock_guard lk(impl_->mu);
  return impl_->log.size();
}

int TestSource::ReloadCount() const {
  std::lock_guard lk(impl_->mu);
  return impl_->reload_count;
}

void TestSource::ReloadTable(const TableIdentifier& table) {
  {
    std::lock_guard lk(impl_->mu);
    if (!impl_->tables.contains(table)) {
      throw ConfigError({"TestSource: no schema set for " + table.ToString()});
    }
    if (std::find(impl_->reloads.begin(), impl_->reloads.end(), table) == impl_->reloads.end()) {
      impl_->reloads.push_back(table);
    }
  }
  impl_->cv.notify_all();
}

std::vector<ColumnDefinition> TestSource::AddTable(const TableIdentifier& table) {
  std::lock_guard lk(impl_->mu);
  const auto it = impl_->tables.find(table);
  if (it == impl_->tables.end()) {
    throw ConfigError({"TestSource: no schema set for " + table.ToString()});
  }
  return it->second.columns;
}

int TestSource::BaselineCount() const {
  std::lock_guard lk(impl_->mu);
  return impl_->baseline_count;
}

int TestSource::StreamCount() const {
  std::lock_guard lk(impl_->mu);
  return static_cast<int>(impl_->stream_starts.size());
}

int TestSource::InitCount() const {
  std::lock_guard lk(impl_->mu);
  return impl_->init_count;
}

std::vector<std::uint64_t> TestSource::StreamStarts() const {
  std::lock_guard lk(impl_->mu);
  return impl_->stream_starts;
}

bool TestSource::IsPaused() const {
  std::lock_guard lk(impl_->mu);
  return impl_->paused;
}

bool TestSource::IsClosed() const {
  std::lock_guard lk(impl_->mu);
  return impl_->closed;
}

std::map<TableIdentifier, std::vector<ColumnDefinition>> TestSource::Init(
    const SourceConfig& config) {
  std::lock_guard lk(impl_->mu);
  ++impl_->init_count;
  impl_->state = SourceState::Connecting;
  if (impl_->init_failure) {
    auto message = std::move(*impl_->init_failure);
    impl_->init_failure.reset();
    impl_->state = SourceState::Error;
    throw RetryableError(codes::kTestInit, message);
  }
  std::map<TableIdentifier, std::vector<ColumnDefinition>> out;
  for (const auto& table : config.tables) {
    if (auto it = impl_->tables.find(table); it != impl_->tables.end()) {
      out[table] = it->second.columns;
    }
  }
  impl_->state = SourceState::Connected;
  return out;
}

std::vector<ValidationError> TestSource::ValidateTables(const std::vector<TableIdentifier>&) {
  std::lock_guard lk(impl_->mu);
  return impl_->validation_errors;
}

Position TestSource::Baseline(std::stop_token stop, const std::vector<TableIdentifier>& tables,
                              const RowCallback& on_row) {
  return BaselineWithColumns(
      std::move(stop), tables, [](const TableIdentifier&, std::vector<ColumnDefinition>) {},
      on_row);
}

Position TestSource::BaselineWithColumns(std::stop_token stop,
                                         const std::vector<TableIdentifier>& tables,
                                         const ColumnsCallback& on_columns,
                                         const RowCallback& on_row) {
  std::vector<std::pair<TableIdentifier, std::vector<Row>>> snapshot;
  std::vector<std::vector<ColumnDefinition>> columns;
  std::uint64_t position = 0;
  std::optional<std::pair<std::string, std::uint64_t>> failure;
  {
    std::lock_guard lk(impl_->mu);
    ++impl_->baseline_count;
    failure.swap(impl_->baseline_failure);
    position = impl_->log.size();  // consistent with the rows copied under the same lock
    impl_->baseline_positions.push_back(position);
    for (const auto& table : tables) {
      std::vector<Row> rows;
      std::vector<ColumnDefinition> table_columns;
      if (auto it = impl_->tables.find(table); it != impl_->tables.end()) {
        for (const auto& [key, row] : it->second.rows) rows.push_back(row);
        table_columns = it->second.columns;
      }
      snapshot.emplace_back(table, std::move(rows));
      columns.push_back(std::move(table_columns));
    }
  }
  std::uint64_t delivered = 0;
  for (std::size_t t = 0; t < snapshot.size(); ++t) {
    auto& [table, rows] = snapshot[t];
    on_columns(table, std::move(columns[t]));
    for (auto& row : rows) {
      if (stop.stop_requested()) return position;
      if (failure && delivered == failure->second)
        throw RetryableError(codes::kTestBaseline, failure->first);
      on_row(table, std::move(row));
      ++delivered;
    }
  }
  if (failure) throw RetryableError(codes::kTestBaseline, failure->first);
  return position;
}

void TestSource::Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) {
  std::uint64_t next = (from.has_value() ? Unwrap(from) : 0) + 1;
  std::unique_lock lk(impl_->mu);
  impl_->stream_starts.push_back(next - 1);
  // Like pgoutput's Relation messages: a stream that starts before a schema change first says
  // what the columns were at its start (Init reported the current ones).
  std::vector<SchemaChange> historic;
  for (const auto& [table, t] : impl_->tables) {
    const std::vector<ColumnDefinition>* at_start = &t.initial_columns;
    for (std::size_t i = 0; i + 1 < next && i < impl_->log.size(); ++i) {
      if (const auto* change = std::get_if<SchemaChange>(&impl_->log[i]);
          change != nullptr && change->table == table) {
        at_start = &change->columns;
      }
    }
    if (*at_start != t.columns) historic.push_back({table, *at_start});
  }
  if (!historic.empty()) {
    lk.unlock();
    for (auto& change : historic) handler.OnSchemaChange(change.table, std::move(change.columns));
    lk.lock();
  }
  impl_->state = impl_->paused ? SourceState::Paused : SourceState::Streaming;
  {
    const SourceState state = impl_->state;
    lk.unlock();
    handler.OnStateChanged(state);
    lk.lock();
  }
  std::vector<ChangeEvent> batch;
  const std::size_t batch_limit =
      std::max<std::size_t>(std::min(impl_->options.stream_batch, handler.MaxBatch()), 1);
  for (;;) {
    // A reload goes out where the stream has caught up: the contents are those of that point.
    const auto reload_due = [&] {
      return !impl_->reloads.empty() && !impl_->paused && !impl_->transaction &&
             next > impl_->log.size();
    };
    const auto ready = [&] {
      const bool failure_due = impl_->stream_failure && next > impl_->stream_failure->after;
      return failure_due || (!impl_->paused && next <= impl_->Visible()) || reload_due();
    };
    // Check first: waiting with a stop token registers a stop callback on every call.
    if (!ready()) impl_->cv.wait(lk, stop, ready);
    if (stop.stop_requested()) break;
    if (impl_->stream_failure && next > impl_->stream_failure->after) {
      ArmedFailure failure = std::move(*impl_->stream_failure);
      impl_->stream_failure.reset();
      impl_->state =
          failure.kind == ArmedFailure::Kind::Fatal ? SourceState::Error : SourceState::Connected;
      lk.unlock();
      if (failure.kind == ArmedFailure::Kind::Rebaseline) {
        throw RebaselineRequired(failure.message);
      }
      if (failure.kind == ArmedFailure::Kind::Retryable) {
        throw RetryableError(codes::kTestStream, failure.message);
      }
      throw FatalError(codes::kTestStream, failure.message);
    }
    if (reload_due()) {
      const auto table = impl_->reloads.front();
      impl_->reloads.pop_front();
      const Table& t = impl_->tables.at(table);
      auto columns = t.columns;
      std::vector<Row> rows;
      rows.reserve(t.rows.size());
      for (const auto& [key, row] : t.rows) rows.push_back(row);
      lk.unlock();
      handler.OnReloadBegin(table, std::move(columns));
      handler.OnReloadRows(table, rows);
      handler.OnReloadEnd(table);
      lk.lock();
      ++impl_->reload_count;
      continue;
    }
    // Consecutive changes go out as one batch, copied into the events the handler gave back last
    // time (their storage is reused), up to an armed failure's point.
    std::size_t last = impl_->Visible();
    if (impl_->stream_failure) last = std::min<std::size_t>(last, impl_->stream_failure->after);
    std::size_t n = 0;
    while (next + n <= last && n < batch_limit &&
           std::holds_alternative<ChangeEvent>(impl_->log[next + n - 1])) {
      if (n < batch.size()) {
        batch[n] = std::get<ChangeEvent>(impl_->log[next + n - 1]);
      } else {
        batch.push_back(std::get<ChangeEvent>(impl_->log[next + n - 1]));
      }
      ++n;
    }
    if (n > 0) {
      lk.unlock();
      handler.OnChanges(std::span<ChangeEvent>(batch.data(), n));
    } else {
      const auto& entry = impl_->log[next - 1];
      lk.unlock();
      if (const auto* invalid = std::get_if<InvalidRecord>(&entry)) {
        handler.OnInvalidRecord(*invalid);
      } else {
        const auto& change = std::get<SchemaChange>(entry);
        handler.OnSchemaChange(change.table, change.columns);
      }
      n = 1;
    }
    lk.lock();
    next += n;
    impl_->delivered = next - 1;
    Impl::Notify(impl_->delivered_cv, impl_->delivered_waiters);
  }
  if (impl_->state == SourceState::Streaming || impl_->state == SourceState::Paused) {
    impl_->state = SourceState::Connected;
  }
}

void TestSource::Ack(const Position& position) {
  const auto value = Unwrap(position);
  std::lock_guard lk(impl_->mu);
  impl_->acks.push_back(value);
  Impl::Notify(impl_->ack_cv, impl_->ack_waiters);
}

bool TestSource::SupportsResume() const { return impl_->options.resumable; }

Position TestSource::LastAckedPosition() {
  std::lock_guard lk(impl_->mu);
  if (!impl_->options.resumable) return {};
  if (!impl_->acks.empty()) return impl_->acks.back();
  if (impl_->options.initial_acked_position) return *impl_->options.initial_acked_position;
  return {};
}

int TestSource::ComparePositions(const Position& a, const Position& b) const {
  const auto x = Unwrap(a);
  const auto y = Unwrap(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

std::string TestSource::PositionToString(const Position& position) const {
  return std::to_string(Unwrap(position));
}

Position TestSource::PositionFromString(std::string_view text) const {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw DataError(codes::kBadPosition,
                    fmt::format("TestSource position must be a decimal uint64, got \"{}\"", text));
  }
  return value;
}

void TestSource::Pause() {
  std::lock_guard lk(impl_->mu);
  impl_->paused = true;
  if (impl_->state == SourceState::Streaming) impl_->state = SourceState::Paused;
  impl_->cv.notify_all();
}

void TestSource::Resume() {
  std::lock_guard lk(impl_->mu);
  impl_->paused = false;
  if (impl_->state == SourceState::Paused) impl_->state = SourceState::Streaming;
  impl_->cv.notify_all();
}

LagInfo TestSource::GetLag() const {
  std::lock_guard lk(impl_->mu);
  // "Bytes" here are events: emitted but not yet handed to the engine.
  return LagInfo{.lag_bytes = static_cast<std::int64_t>(impl_->log.size() - impl_->delivered),
                 .lag_time = std::nullopt};
}

laredo::OrderingGuarantee TestSource::OrderingGuarantee() const {
  return laredo::OrderingGuarantee::TotalOrder;
}

SourceState TestSource::State() const {
  std::lock_guard lk(impl_->mu);
  return impl_->state;
}

void TestSource::Close() {
  std::lock_guard lk(impl_->mu);
  impl_->closed = true;
  impl_->state = SourceState::Closed;
  impl_->cv.notify_all();
}

std::uint64_t TestSource::Unwrap(const Position& position) {
  if (const auto* value = std::any_cast<std::uint64_t>(&position)) return *value;
  throw DataError(codes::kBadPosition,
                  position.has_value() ? fmt::format("TestSource positions are uint64_t, got {}",
                                                     position.type().name())
                                       : std::string("TestSource got an empty position"));
}

}  // namespace laredo::testsource
