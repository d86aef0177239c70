// Source::Stream: the replication loop, its flow control and its reconnects. Runs on the one
// thread that owns the replication connection (lesson 16); other threads only leave values in
// Impl for it (the ACK, the pause flag).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "catalog.hpp"
#include "change_assembler.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "laredo/pg/source.hpp"
#include "publication.hpp"
#include "replication_messages.hpp"
#include "source_impl.hpp"
#include "transaction_streamer.hpp"

namespace laredo::pg {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// undefined_object: what the walsender reports for a publication its historic catalog lacks.
constexpr std::string_view kUndefinedObject = "42704";

// The one test of slot invalidation: the server's wal_status, never an error's text (which
// lc_messages translates).
bool IsLost(std::string_view wal_status) { return wal_status == "lost"; }

// A keepalive's send time (microseconds since 2000-01-01) on the system clock; nullopt for a
// value the clock cannot hold (a corrupt message).
std::optional<std::chrono::system_clock::time_point> ServerTime(std::int64_t pg_epoch_micros) {
  const auto at = FromPgEpochMicros(pg_epoch_micros);
  const auto limit = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::duration::max() / 2);
  if (at.time_since_epoch() > limit || at.time_since_epoch() < -limit) return std::nullopt;
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(at);
}

}  // namespace

bool Source::Impl::ColumnsDecodeFromBinary() {
  for (const auto& [table, table_columns] : columns) {
    for (const auto& c : table_columns) {
      if (Types().BinaryTypeOf(c.type_oid).kind == BinaryType::Kind::None) {
        Logger()->info(
            "pg source: {} column {} (type {}) has no binary decoder: streaming in "
            "text mode",
            table.ToString(), c.name, c.type_oid);
        return false;
      }
    }
  }
  return true;
}

ReplicationConnection::StreamOptions Source::Impl::StreamOptionsFor(ReplicationConnection& conn) {
  server_version = conn.ServerVersion();
  // Always where the server has them: reloads of single tables need their watermarks.
  const bool want_messages = true;
  const bool want_binary = options.binary && !binary_refused && ColumnsDecodeFromBinary();
  const auto chosen = ReplicationConnection::StreamOptionsFor(
      conn.ServerVersion(), options.streaming, want_messages, want_binary);
  if (options.on_message && !chosen.messages) {
    Logger()->warn(
        "pg source: server {} is older than 14: logical decoding messages are not "
        "delivered",
        conn.ServerVersion());
  }
  return chosen;
}

// What may be reported to the server as flushed: exactly the engine's durable ACK (lesson 2),
// except that once every dispatched change is acknowledged, WAL that the server has shown to hold
// nothing for us (a keepalive's end while no transaction was open) may be released too, so an
// idle source does not pin WAL (unless the engine asked for exact release: ExactRelease). Never
// moves backwards.
//
// While a reload of one table runs, no further than its newest acknowledged checkpoint: a
// restarted process continues the reload from there and needs every change after it again.
Lsn Source::Impl::ComputeFlush(const StreamPosition& last_delivered, Lsn idle_lsn) {
  Lsn flush;
  std::optional<StreamPosition> ack;
  {
    std::lock_guard lk(mu);
    if (has_ack) {
      ack = acked;
      flush = acked.ack_lsn;
      if (!exact_release.load() && StreamPosition::Compare(acked, last_delivered) >= 0) {
        flush = std::max(flush, idle_lsn);
      }
    }
  }
  if (ack) {
    if (const auto cap = reloads.FlushCap(*ack)) flush = std::min(flush, *cap);
  }
  return std::max(flush, Lsn(sent_flush.load()));
}

Lsn Source::Impl::AckedFlush() {
  std::optional<StreamPosition> ack;
  {
    std::lock_guard lk(mu);
    if (has_ack) ack = acked;
  }
  Lsn flush;
  if (ack) {
    flush = ack->ack_lsn;
    if (const auto cap = reloads.FlushCap(*ack)) flush = std::min(flush, *cap);
  }
  return std::max(flush, Lsn(sent_flush.load()));
}

void Source::Impl::Pump(std::stop_token stop, StreamPosition& resume, ChangeHandler& engine,
                        std::chrono::milliseconds status_every, bool binary) {
  // A column added with a default: the rows already there read it as that value, which no
  // change will ever carry to the targets; only a fresh baseline makes them read like SELECT *.
  const auto on_added_column = [this](const TableIdentifier& table, const std::string& column) {
    auto conn = PgConnection::Connect(options.conninfo, ConnectionKind::Normal);
    if (AddedColumnMayHaveValues(conn, table, column)) {
      throw RebaselineRequired(fmt::format(
          "column {} was added to {} with a default, which the rows already there read as their "
          "value; taking a fresh baseline",
          column, table.ToString()));
    }
  };
  ChangeAssembler assembler(
      columns, resume, [this](std::uint32_t type) { return Types().ValueType(type); },
      on_added_column);
  // Every change and message goes through the reloads of single tables on its way to the engine.
  reloads.BeginStream(engine, assembler.columns(), Types(), resume, stop);
  struct EndReloads {
    ReloadRunner& r;
    ~EndReloads() { r.EndStream(); }
  } end_reloads{reloads};
  ChangeHandler& handler = reloads;
  assembler.SetMessageHandler(
      [this](const LogicalMessage& m) {
        if (m.prefix == kWatermarkPrefix) {
          if (m.transactional) reloads.OnWatermark(m);
          return;
        }
        if (options.on_message) options.on_message(m);
      },
      message_cursor);
  if (binary) {
    assembler.ExpectBinary([this](std::uint32_t type) { return Types().BinaryTypeOf(type); });
  }
  // A new connection streams every open transaction again: nothing buffered outlives this one.
  StreamBuffers buffers(options.stream_memory_bytes, options.spill_directory, stream_counters);
  TransactionStreamer streamer(buffers);
  PgoutputDecoder decoder;
  auto last_status = Clock::now();
  Lsn received(sent_flush.load());
  Lsn idle_lsn;
  Lsn reported_progress;  // the last idle_lsn reported through OnProgress
  // The newest (WAL position, server time) decoded in this batch, published once handed over.
  std::optional<std::pair<Lsn, std::chrono::system_clock::time_point>> caught_up;
  constexpr int kBatch = 4096;  // messages between two looks at the ACK and the clock

  // Streaming a backlog from a server on this machine, the walsender is the bottleneck: it
  // shares the CPUs with this process and calls send() once per message. Two socket settings
  // take work off it (bench/pg_streaming, 2 cores: 1.2x -> 1.9x the changes/s of pg_recvlogical):
  // - a small fixed receive window: the walsender's send() then mostly queues data, and the TCP
  //   transmission runs when this thread reads and opens the window, on this thread's CPU;
  // - a wake threshold: this thread sleeps until a batch has arrived instead of the walsender
  //   waking it for every few messages. Bounded by kBulkWait, so a backlog's tail is not delayed,
  //   and only after a long batch, so a quiet stream keeps its per-message latency.
  // A remote server gets neither: a small window would throttle a link with a real round trip.
  constexpr int kLoopbackWindow = 64 * 1024;
  constexpr int kBulkWake = kLoopbackWindow / 4;
  constexpr int kBulkMessages = 64;  // a batch at least this long means a backlog is streaming
  constexpr auto kBulkWait = 2ms;
  const bool loopback = repl->IsLoopbackTcp() && repl->UseSmallReceiveWindow(kLoopbackWindow);
  bool bulk = false;

  // A status update when the server asked for one, when the flush position moved, or when
  // `status_every` passed since the last one.
  const auto send_status = [&](bool reply) {
    const Lsn flush = ComputeFlush(assembler.last_delivered(), idle_lsn);
    const auto now = Clock::now();
    if (reply || flush.value() != sent_flush.load() || now - last_status >= status_every) {
      repl->SendStatus(std::max(received, flush), flush, false);
      sent_flush = flush.value();
      last_status = now;
    }
  };

  // Replaying a large streamed transaction does not read the connection for a while.
  const std::function<void()> tick = [&] { send_status(false); };

  // Keeps the caller's resume point and the known columns current, however Pump ends, and takes
  // the backpressure hook back before the state it refers to goes away.
  struct Sync {
    ChangeAssembler& a;
    StreamPosition& resume;
    std::map<TableIdentifier, std::vector<ColumnDefinition>>& columns;
    ChangeHandler& handler;
    ~Sync() {
      handler.SetBackpressureHook({}, {});
      resume = a.last_delivered();
      columns = a.columns();
    }
  } sync{assembler, resume, columns, handler};
  // While the engine's buffers are full the handler blocks this thread, which owns the
  // connection: it calls back here, so status updates keep the walsender from timing out.
  handler.SetBackpressureHook([&] { send_status(false); },
                              std::min<std::chrono::milliseconds>(status_every, 100ms));

  while (!stop.stop_requested()) {
    bool reply = false;
    if (reset_pending) {
      std::optional<bool> request;
      {
        std::lock_guard lk(mu);
        request.swap(reset_request);
      }
      if (request) ResetWhileStreaming(*request);
    }
    if (paused) {
      // Not reading holds the changes at the server; the status updates below keep the
      // walsender from timing out meanwhile.
      SetStreamState(SourceState::Paused, handler);
      Wait(stop, std::min<std::chrono::milliseconds>(status_every, 100ms));
      // Status updates alone would notice a closed connection only after two of them.
      if (repl->PeerClosed()) {
        throw RetryableError(codes::kPgConnection,
                             "the server closed the replication connection while paused");
      }
    } else {
      SetStreamState(SourceState::Streaming, handler);
      repl->SetWakeThreshold(bulk ? kBulkWake : 1);
      int n = 0;
      for (; n < kBatch && !stop.stop_requested() && !paused; ++n) {
        std::span<const std::byte> body;
        const auto wait = n > 0 ? 0ms : (bulk ? kBulkWait : 100ms);
        if (repl->Read(wait, body) == ReplicationConnection::ReadStatus::Timeout) break;
        const auto message = DecodeReplicationMessage(body);
        if (const auto* x = std::get_if<XLogData>(&message)) {
          received = std::max(received, x->wal_start);
          const auto decoded = decoder.Decode(x->payload);
          if (!streamer.Handle(decoded, x->payload, assembler, handler, tick)) {
            assembler.Handle(decoded, handler);
          }
          std::optional<Lsn> end;
          if (const auto* commit = std::get_if<CommitMessage>(&decoded)) end = commit->end_lsn;
          if (const auto* commit = std::get_if<StreamCommitMessage>(&decoded)) {
            end = commit->end_lsn;
          }
          if (const auto at = assembler.last_commit_time(); end && at) caught_up = {*end, *at};
        } else {
          const auto& k = std::get<PrimaryKeepalive>(message);
          received = std::max(received, k.wal_end);
          // Streamed transactions still open do not hold this back: the server streams them
          // again, whole, from a restart at any point before their commit.
          if (!assembler.in_transaction() && !decoder.in_stream_block()) {
            idle_lsn = std::max(idle_lsn, k.wal_end);
            if (const auto at = ServerTime(k.send_time)) caught_up = {idle_lsn, *at};
          }
          reply = reply || k.reply_requested;
        }
      }
      assembler.Flush(handler);  // nothing more buffered: hand over what was decoded
      reloads.Step();            // a reload's next chunk, between two batches
      // A keepalive outside a transaction: every change before its WAL end is delivered now.
      if (idle_lsn > reported_progress && !assembler.in_transaction() &&
          !decoder.in_stream_block()) {
        reported_progress = idle_lsn;
        handler.OnProgress(PositionAt(idle_lsn));
      }
      if (caught_up) {  // handed over: GetLag may count it
        std::lock_guard lk(mu);
        delivered_through = caught_up->first;
        delivered_as_of = caught_up->second;
        caught_up.reset();
      }
      bulk = loopback && n >= kBulkMessages;
    }
    send_status(reply);
  }
}

void Source::Impl::ResetWhileStreaming(bool drop_publication) {
  // Closing the replication connection releases the slot (a temporary one goes with it).
  repl.reset();
  repl_streaming = false;
  std::optional<std::string> error;
  try {
    if (options.slot_mode == SlotMode::Stateful) {
      // The walsender may take a moment to exit; DROP_REPLICATION_SLOT ... WAIT waits for it.
      ReplicationConnection dropper(
          PgConnection::Connect(options.conninfo, ConnectionKind::Replication, "laredo reset"));
      if (dropper.QuerySlot(slot).exists) dropper.DropSlot(slot);
    }
    if (drop_publication) {
      auto conn = PgConnection::Connect(options.conninfo, ConnectionKind::Normal);
      conn.Exec(fmt::format("DROP PUBLICATION IF EXISTS {}", conn.QuoteIdent(publication)),
                "dropping the publication");
      if (options.manage_publication) {
        SyncPublication(conn, publication, consumer, tables, options.tables);
      }
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  {
    std::lock_guard lk(mu);
    reset_error = error;
    resets_done = resets_requested;
    reset_pending = false;
  }
  wake.notify_all();
  if (error) throw RetryableError(codes::kPgResetFailed, "ResetSource: " + *error);
  throw RebaselineRequired(
      fmt::format("ResetSource: replication slot {}{} dropped; taking a fresh baseline", slot,
                  drop_publication ? " and its publication" : ""));
}

void Source::Impl::RebaselineLostSlot(const std::string& reason) {
  Logger()->warn("pg source: {}; dropping it", reason);
  repl.reset();
  repl_streaming = false;
  try {
    // DROP_REPLICATION_SLOT ... WAIT: our walsender may still be exiting.
    ReplicationConnection dropper(
        PgConnection::Connect(options.conninfo, ConnectionKind::Replication, "laredo drop"));
    if (dropper.QuerySlot(slot).exists) dropper.DropSlot(slot);
  } catch (const std::exception& e) {
    // The baseline drops it too (a stateful one), or it goes with its connection (temporary).
    Logger()->warn("pg source: dropping invalidated slot {} failed: {}", slot, e.what());
  }
  throw RebaselineRequired(reason + "; taking a fresh baseline on a new slot");
}

void Source::Impl::StreamLoop(std::stop_token stop, StreamPosition& resume,
                              ChangeHandler& handler) {
  const bool ephemeral = options.slot_mode == SlotMode::Ephemeral;
  int failures = 0;
  while (!stop.stop_requested()) {
    try {
      if (!repl || repl_streaming) {
        repl.reset();
        repl_streaming = false;
        if (ephemeral) {
          throw RebaselineRequired(
              fmt::format("temporary replication slot {} ended with its connection", slot));
        }
        repl.emplace(PgConnection::Connect(options.conninfo, ConnectionKind::Replication,
                                           "laredo replication"));
      }
      auto state_of_slot = repl->QuerySlot(slot);
      state_of_slot = AwaitSlotInactive(stop, *repl, state_of_slot);
      if (stop.stop_requested()) return;
      if (!state_of_slot.exists) {
        throw RebaselineRequired(fmt::format("replication slot {} does not exist", slot));
      }
      if (IsLost(state_of_slot.wal_status)) {
        RebaselineLostSlot(
            fmt::format("replication slot {} was invalidated (wal_status 'lost')", slot));
      }
      // The server starts at max(this, confirmed_flush_lsn); the assembler drops what was
      // dispatched already.
      // Status updates must beat the server's timeout whatever status_interval says.
      auto status_every = options.status_interval;
      if (const auto timeout = repl->WalSenderTimeout(); timeout.count() > 0) {
        status_every = std::min(status_every, std::max(timeout / 2, 10ms));
      }
      // A table someone took out of the publication would silently stop changing.
      if (const auto missing = TablesMissingFrom(repl->connection(), publication, tables);
          !missing.empty()) {
        if (options.manage_publication) {
          // Ours to repair (it may also have been lost with a server crash: the commit that
          // added the table was not yet flushed). The slot did not decode the table's changes
          // meanwhile, so a fresh baseline on a new slot follows.
          repl.reset();
          repl_streaming = false;
          auto conn =
              PgConnection::Connect(options.conninfo, ConnectionKind::Normal, "laredo publication");
          SyncPublication(conn, publication, consumer, tables, options.tables);
          throw RebaselineRequired(
              fmt::format("publication {} no longer published {}: restored, and the changes since "
                          "are read by a fresh baseline",
                          publication, TableList(missing)));
        }
        SetStreamState(SourceState::Error, handler);
        throw FatalError(
            codes::kPgPublicationIncomplete,
            fmt::format("publication {} no longer publishes {}: their changes since were not "
                        "decoded. Add them back, then reset the source (or restart it with "
                        "always_baseline) so that a fresh baseline reads them",
                        publication, TableList(missing)));
      }
      const auto stream_options = StreamOptionsFor(*repl);
      repl->StartReplication(slot, resume.ack_lsn, publication, stream_options);
      repl_streaming = true;
      if (failures > 0) Logger()->info("pg source: slot {} streaming again", slot);
      failures = 0;
      try {
        Pump(stop, resume, handler, status_every, stream_options.binary);
      } catch (const BinaryUnavailable& e) {
        Logger()->warn("pg source: {}; reconnecting", e.what());
        binary_refused = true;  // the next connection streams in text mode
        throw;
      }
      return;  // stopped; the connection stays open for Close's final status update
    } catch (const SqlError& e) {
      // E.g. START_REPLICATION refused a slot invalidated since it was read, or WAL it needed
      // was removed: the slot's state decides, not the error.
      std::optional<SlotInfo> info;
      try {
        auto conn = PgConnection::Connect(options.conninfo, ConnectionKind::Normal);
        info = QuerySlotInfo(conn, slot);
      } catch (const std::exception&) {
        throw e;  // the original error says more than this one
      }
      if (info && !IsLost(info->wal_status) && e.sqlstate() == kUndefinedObject) {
        // pgoutput reads the publication as the catalog was at each change it decodes, so one
        // created after the slot's position (dropped and created again, or restored after a
        // crash lost it) does not exist there, and the slot can never decode those changes
        // through it. Only a new slot, created after the publication, can: a fresh baseline.
        repl.reset();
        repl_streaming = false;
        throw RebaselineRequired(fmt::format(
            "the server cannot decode replication slot {} through publication {}, which did not "
            "exist yet at the slot's position (it was created again since): {}; taking a fresh "
            "baseline on a new slot",
            slot, publication, e.what()));
      }
      if (!info || !IsLost(info->wal_status)) throw;
      RebaselineLostSlot(fmt::format("replication slot {} was invalidated: {}", slot, e.what()));
    } catch (const SlotInUse&) {
      repl.reset();
      repl_streaming = false;
      throw;
    } catch (const RetryableError& e) {
      repl.reset();
      repl_streaming = false;
      if (stop.stop_requested()) return;
      if (ephemeral) {
        throw RebaselineRequired(fmt::format(
            "replication connection lost, temporary slot {} went with it: {}", slot, e.what()));
      }
      // Not a failure: the stream starts again at once, in text mode (logged where thrown).
      if (dynamic_cast<const BinaryUnavailable*>(&e) != nullptr) continue;
      if (++failures > options.reconnect.max_attempts) {
        SetStreamState(SourceState::Error, handler);
        throw FatalError(codes::kPgReconnectExhausted,
                         fmt::format("gave up reconnecting replication slot {} after {} "
                                     "attempts: {}",
                                     slot, failures - 1, e.what()));
      }
      SetStreamState(SourceState::Reconnecting, handler);
      const auto delay = options.reconnect.backoff.Delay(failures);
      Logger()->warn(
          "pg source: replication connection lost (attempt {} of {}), retrying in {} ms: {}",
          failures, options.reconnect.max_attempts, delay.count(), e.what());
      if (!Wait(stop, delay)) return;
    }
  }
}

void Source::Stream(std::stop_token stop, const Position& from, ChangeHandler& handler) {
  StreamPosition resume;
  if (from.has_value()) {
    const auto* p = std::any_cast<StreamPosition>(&from);
    if (p == nullptr) throw DataError(codes::kBadPosition, "not a laredo::pg::StreamPosition");
    resume = *p;
  }
  impl_->SetInUse(true);
  std::optional<Heartbeat> heartbeat;
  if (impl_->options.heartbeat_interval.count() > 0) {
    heartbeat.emplace(impl_->options, impl_->slot, impl_->heartbeat_counters);
  }
  impl_->StreamLoop(stop, resume, handler);
}

}  // namespace laredo::pg
