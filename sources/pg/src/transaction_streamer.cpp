#include "transaction_streamer.hpp"

#include <fmt/format.h>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

// The xid a message inside a stream block carries (the decoder requires it there).
std::optional<std::uint32_t> XidOf(const PgoutputMessage& message) {
  return std::visit(
      [](const auto& m) -> std::optional<std::uint32_t> {
        if constexpr (requires { m.xid; }) {
          if constexpr (std::is_same_v<decltype(m.xid), std::optional<std::uint32_t>>) {
            return m.xid;
          }
        }
        return std::nullopt;
      },
      message);
}

}  // namespace

bool TransactionStreamer::Handle(const PgoutputMessage& message, std::span<const std::byte> raw,
                                 ChangeAssembler& assembler, ChangeHandler& handler,
                                 const std::function<void()>& tick) {
  if (const auto* start = std::get_if<StreamStartMessage>(&message)) {
    // A new connection streams every open transaction again from its first segment, so a
    // later segment of a transaction not held here would mean changes were lost: a reconnect
    // gets the whole transaction again.
    if (start->first_segment) {
      buffers_.Open(start->xid);
    } else if (!buffers_.IsOpen(start->xid)) {
      throw RetryableError(
          codes::kPgProtocol,
          fmt::format("Stream Start of a later segment of transaction {}, whose first "
                      "segment was not received",
                      start->xid));
    }
    block_xid_ = start->xid;
    return true;
  }
  if (std::holds_alternative<StreamStopMessage>(message)) {
    block_xid_.reset();
    return true;
  }
  if (const auto* commit = std::get_if<StreamCommitMessage>(&message)) {
    Commit(*commit, assembler, handler, tick);
    return true;
  }
  if (const auto* abort = std::get_if<StreamAbortMessage>(&message)) {
    if (abort->subxid == abort->xid) {
      buffers_.Abort(abort->xid);
    } else {
      buffers_.AbortSubtransaction(abort->xid, abort->subxid);
    }
    return true;
  }
  if (!block_xid_) return false;
  const auto xid = XidOf(message);
  const auto* logical = std::get_if<LogicalDecodingMessage>(&message);
  if (!xid || (logical != nullptr && !logical->transactional)) {
    return false;  // Origin, or a non-transactional message: nothing to hold back
  }
  const bool describes = std::holds_alternative<RelationMessage>(message) ||
                         std::holds_alternative<TypeMessage>(message);
  buffers_.Append(*block_xid_, describes ? *block_xid_ : *xid, raw);
  return true;
}

void TransactionStreamer::Commit(const StreamCommitMessage& m, ChangeAssembler& assembler,
                                 ChangeHandler& handler, const std::function<void()>& tick) {
  // Framed like the same transaction sent whole: Begin's final LSN is the commit record's LSN.
  assembler.Handle(
      BeginMessage{.final_lsn = m.commit_lsn, .commit_time = m.commit_time, .xid = m.xid}, handler);
  std::size_t replayed = 0;
  buffers_.Replay(m.xid, [&](std::span<const std::byte> record) {
    assembler.Handle(DecodePgoutputMessage(record, /*in_stream_block=*/true), handler);
    if (tick && (++replayed % 4096) == 0) tick();
  });
  assembler.Handle(CommitMessage{.flags = m.flags,
                                 .commit_lsn = m.commit_lsn,
                                 .end_lsn = m.end_lsn,
                                 .commit_time = m.commit_time},
                   handler);
}

}  // namespace laredo::pg
