#include "replication_connection.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <charconv>

#include "laredo/error_codes.hpp"
#include "replication_messages.hpp"

namespace laredo::pg {

CreatedSlot ReplicationConnection::CreateSlot(std::string_view slot, bool temporary) {
  const std::string sql =
      fmt::format("CREATE_REPLICATION_SLOT {}{} LOGICAL pgoutput EXPORT_SNAPSHOT",
                  conn_.QuoteIdent(slot), temporary ? " TEMPORARY" : "");
  auto result = conn_.Exec(sql, fmt::format("creating replication slot {}", slot));
  if (PQntuples(result.get()) != 1 || PQnfields(result.get()) < 3) {
    throw RetryableError(codes::kPgProtocol,
                         "CREATE_REPLICATION_SLOT returned an unexpected result");
  }
  CreatedSlot created;
  created.consistent_point = Lsn::Parse(GetValue(result.get(), 0, 1).value_or(""));
  created.snapshot_name = GetValue(result.get(), 0, 2).value_or("");
  return created;
}

void ReplicationConnection::DropSlot(std::string_view slot) {
  conn_.Exec(fmt::format("DROP_REPLICATION_SLOT {} WAIT", conn_.QuoteIdent(slot)),
             fmt::format("dropping replication slot {}", slot));
}

ReplicationConnection::SlotState ReplicationConnection::QuerySlot(std::string_view slot) {
  // Simple protocol only: walsender connections take no parameters.
  auto result =
      conn_.Exec(fmt::format("SELECT coalesce(wal_status, ''), coalesce(active_pid::text, '') "
                             "FROM pg_replication_slots "
                             "WHERE slot_name = {}",
                             conn_.QuoteLiteral(slot)),
                 fmt::format("reading replication slot {}", slot));
  SlotState state;
  if (PQntuples(result.get()) == 1) {
    state.exists = true;
    state.wal_status = GetValue(result.get(), 0, 0).value_or("");
    state.active_pid = GetValue(result.get(), 0, 1).value_or("");
  }
  return state;
}

std::chrono::milliseconds ReplicationConnection::WalSenderTimeout() {
  // pg_settings reports it in milliseconds, as this session sees it (it is user-settable).
  auto result = conn_.Exec("SELECT setting FROM pg_settings WHERE name = 'wal_sender_timeout'",
                           "reading wal_sender_timeout");
  const auto text = PQntuples(result.get()) == 1 ? GetValue(result.get(), 0, 0) : std::nullopt;
  std::int64_t ms = 0;
  if (text) {
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), ms);
    if (ec != std::errc() || end != text->data() + text->size() || ms < 0) ms = 0;
  }
  return std::chrono::milliseconds(ms);
}

ReplicationConnection::StreamOptions ReplicationConnection::StreamOptionsFor(
    int server_version_num, bool want_streaming, bool want_messages, bool want_binary) noexcept {
  // pgoutput of PostgreSQL 14 brought protocol version 2 (streaming), the messages and the
  // binary options.
  constexpr int kVersion14 = 140000;
  const bool capable = server_version_num >= kVersion14;
  return {.streaming = capable && want_streaming,
          .messages = capable && want_messages,
          .binary = capable && want_binary};
}

int ReplicationConnection::ServerVersion() const { return PQserverVersion(conn_.get()); }

void ReplicationConnection::StartReplication(std::string_view slot, Lsn start,
                                             std::string_view publication,
                                             StreamOptions stream_options) {
  // publication_names is a list of identifiers: quote the name, then quote that as a literal.
  const std::string sql = fmt::format(
      "START_REPLICATION SLOT {} LOGICAL {} (proto_version '{}', publication_names {}{}{}{})",
      conn_.QuoteIdent(slot), start.ToString(), stream_options.streaming ? 2 : 1,
      conn_.QuoteLiteral(conn_.QuoteIdent(publication)),
      stream_options.streaming ? ", streaming 'on'" : "",
      stream_options.messages ? ", messages 'true'" : "",
      stream_options.binary ? ", binary 'true'" : "");
  auto result = conn_.Exec(sql, fmt::format("starting replication from slot {}", slot));
  if (PQresultStatus(result.get()) != PGRES_COPY_BOTH) {
    throw RetryableError(codes::kPgProtocol, "START_REPLICATION did not enter COPY BOTH mode");
  }
}

void ReplicationConnection::ThrowStreamEnded() {
  // The server ended COPY BOTH: its result says why (an ERROR, or a clean end of stream).
  ResultPtr result(PQgetResult(conn_.get()));
  if (result && PQresultStatus(result.get()) == PGRES_FATAL_ERROR) {
    ThrowCommandError(conn_.get(), result.get(), "streaming changes");
  }
  throw RetryableError(
      codes::kPgConnection,
      fmt::format("the server ended the replication stream: {}", PQerrorMessage(conn_.get())));
}

bool ReplicationConnection::IsLoopbackTcp() {
  const int fd = PQsocket(conn_.get());
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (fd < 0 || getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) {  // NOLINT
    return false;
  }
  if (peer.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&peer);  // NOLINT
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&peer);  // NOLINT
    return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
           (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127);
  }
  return false;  // a Unix socket: no TCP work to move
}

bool ReplicationConnection::UseSmallReceiveWindow(int bytes) {
  const int fd = PQsocket(conn_.get());
  return fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0;
}

void ReplicationConnection::SetWakeThreshold(int bytes) {
  if (bytes == wake_threshold_) return;
  const int fd = PQsocket(conn_.get());
  if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0) {
    wake_threshold_ = bytes;
  }
}

ReplicationConnection::ReadStatus ReplicationConnection::Read(std::chrono::milliseconds timeout,
                                                              std::span<const std::byte>& message) {
  buffer_.reset();
  for (int round = 0; round < 2; ++round) {
    char* data = nullptr;
    const int n = PQgetCopyData(conn_.get(), &data, 1);
    if (n > 0) {
      buffer_.reset(data);
      message = std::span<const std::byte>(reinterpret_cast<const std::byte*>(data),  // NOLINT
                                           static_cast<std::size_t>(n));
      return ReadStatus::Message;
    }
    if (n == -1) ThrowStreamEnded();
    if (n == -2) ThrowCommandError(conn_.get(), nullptr, "reading the replication stream");
    if (round == 1) break;
    // Nothing buffered: wait for the socket, then pull what arrived into libpq.
    pollfd fd{.fd = PQsocket(conn_.get()), .events = POLLIN, .revents = 0};
    const int ready = poll(&fd, 1, static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR) {
      throw RetryableError(codes::kPgConnection, "poll on the replication socket failed");
    }
    if (ready <= 0) return ReadStatus::Timeout;
    if (PQconsumeInput(conn_.get()) == 0) {
      ThrowCommandError(conn_.get(), nullptr, "reading the replication stream");
    }
  }
  return ReadStatus::Timeout;
}

bool ReplicationConnection::PeerClosed() {
  // POLLRDHUP: the server's FIN arrived, whatever unread data precedes it.
  pollfd fd{.fd = PQsocket(conn_.get()), .events = POLLRDHUP, .revents = 0};
  if (fd.fd < 0) return true;
  return poll(&fd, 1, 0) > 0 && (fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void ReplicationConnection::SendStatus(Lsn write, Lsn flush, bool reply_requested) {
  const StandbyStatusUpdate update{.write = write,
                                   .flush = flush,
                                   .apply = flush,
                                   .client_time = ToPgEpochMicros(std::chrono::system_clock::now()),
                                   .reply_requested = reply_requested};
  const auto bytes = EncodeStandbyStatusUpdate(update);
  if (PQputCopyData(conn_.get(), reinterpret_cast<const char*>(bytes.data()),  // NOLINT
                    static_cast<int>(bytes.size())) != 1 ||
      PQflush(conn_.get()) != 0) {
    ThrowCommandError(conn_.get(), nullptr, "sending a standby status update");
  }
}

}  // namespace laredo::pg
