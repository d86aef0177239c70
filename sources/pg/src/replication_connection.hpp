#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "laredo/pg/lsn.hpp"
#include "pg_connection.hpp"

namespace laredo::pg {

/// What CREATE_REPLICATION_SLOT returned.
struct CreatedSlot {
  /// Where decoding of the new slot starts: the baseline's position.
  Lsn consistent_point;
  /// The exported snapshot; valid until this connection runs its next command.
  std::string snapshot_name;
};

/// A `replication=database` connection speaking the streaming replication protocol.
///
/// Threading: owned by one thread (the source's lifecycle thread, which runs Baseline and Stream).
/// Nothing here is safe to call from another thread; other threads hand values to that thread.
class ReplicationConnection {
 public:
  explicit ReplicationConnection(PgConnection conn) : conn_(std::move(conn)) {}

  /// CREATE_REPLICATION_SLOT ... LOGICAL pgoutput EXPORT_SNAPSHOT (TEMPORARY when asked).
  CreatedSlot CreateSlot(std::string_view slot, bool temporary);
  /// DROP_REPLICATION_SLOT ... WAIT (waits for a walsender that is still exiting to release it).
  void DropSlot(std::string_view slot);
  /// Whether the slot exists, its wal_status ("reserved", "extended", "unreserved", "lost"), and
  /// the pid of the backend streaming from it (empty when none).
  struct SlotState {
    bool exists = false;
    std::string wal_status;
    std::string active_pid;
  };
  SlotState QuerySlot(std::string_view slot);

  /// This session's wal_sender_timeout; zero when the server has it disabled. Status updates must
  /// come more often than that, or the walsender ends the connection.
  std::chrono::milliseconds WalSenderTimeout();

  /// What START_REPLICATION asks pgoutput for.
  struct StreamOptions {
    /// Protocol version 2 with `streaming 'on'` (needs PostgreSQL 14); else version 1.
    bool streaming = false;
    /// `messages 'true'`: logical decoding messages (needs PostgreSQL 14).
    bool messages = false;
    /// `binary 'true'`: column values in their binary send format (needs PostgreSQL 14).
    bool binary = false;
  };
  /// What to ask a server of `server_version_num` for (streaming, messages and binary need 14).
  static StreamOptions StreamOptionsFor(int server_version_num, bool want_streaming,
                                        bool want_messages, bool want_binary = false) noexcept;
  /// START_REPLICATION SLOT ... LOGICAL start (proto_version, publication_names, ...).
  void StartReplication(std::string_view slot, Lsn start, std::string_view publication,
                        StreamOptions stream_options);
  /// PQserverVersion: e.g. 150004 for 15.4.
  [[nodiscard]] int ServerVersion() const;

  enum class ReadStatus : std::uint8_t { Message, Timeout };
  /// Waits up to `timeout` for the next CopyData message. On `Message`, `message` views its body
  /// until the next Read. Throws `RetryableError` when the connection is lost or the server ends
  /// the stream, and the classified error when the server reports one.
  ReadStatus Read(std::chrono::milliseconds timeout, std::span<const std::byte>& message);

  /// Whether the server is on this machine, reached over TCP (127.0.0.0/8 or ::1).
  bool IsLoopbackTcp();
  /// Fixes the socket's receive buffer at `bytes` (SO_RCVBUF; the kernel doubles it) instead of
  /// letting it grow. False when the socket refuses.
  bool UseSmallReceiveWindow(int bytes);
  /// How many bytes must be waiting before `Read` wakes up for the socket (SO_RCVLOWAT); 1 is the
  /// usual behaviour. Best effort: a socket that refuses it keeps waking per arrival. Linux clamps
  /// the TCP window of an auto-sized receive buffer to this value, so use it with a fixed buffer
  /// (`UseSmallReceiveWindow`) at least four times as large.
  void SetWakeThreshold(int bytes);

  /// Whether the server has closed the connection (or it broke), found without reading: for a
  /// source that does not read while paused. Messages still buffered do not hide it.
  bool PeerClosed();

  /// Sends a standby status update ('r') and flushes it.
  void SendStatus(Lsn write, Lsn flush, bool reply_requested);

  [[nodiscard]] PgConnection& connection() noexcept { return conn_; }

 private:
  struct FreeMem {
    void operator()(char* p) const noexcept { PQfreemem(p); }
  };
  [[noreturn]] void ThrowStreamEnded();

  PgConnection conn_;
  std::unique_ptr<char, FreeMem> buffer_;
  int wake_threshold_ = 1;
};

}  // namespace laredo::pg
