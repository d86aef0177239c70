#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "change_assembler.hpp"
#include "pgoutput_decoder.hpp"
#include "stream_buffers.hpp"

namespace laredo::pg {

/// The streamed transactions of protocol version 2, between the decoder and the assembler.
///
/// Inside a Stream Start / Stream Stop block, every message is kept (as its bytes) in
/// `StreamBuffers` under its top-level transaction. At Stream Commit the transaction's records
/// are decoded again and handed to the `ChangeAssembler` framed by a Begin and a Commit carrying
/// the Stream Commit's positions, so a streamed transaction reaches the engine exactly as the
/// same transaction sent whole would (positions, indexes, ACK). Stream Abort discards the
/// transaction, or only the records of the aborted subtransaction.
///
/// Relation and Type messages are kept with the transaction too, filed under the top-level xid so
/// that only a whole-transaction abort discards them (the server describes a relation once per
/// streamed transaction, even when a subtransaction first used it). Applied at commit, in their
/// place, they never let an aborted transaction's schema reach the relation cache.
///
/// Threading: the stream thread.
class TransactionStreamer {
 public:
  explicit TransactionStreamer(StreamBuffers& buffers) : buffers_(buffers) {}

  /// Takes `message` (decoded from `raw`) when it belongs to streaming: returns false for the
  /// messages of ordinary transactions, which go to the assembler directly. `tick` runs every few
  /// thousand replayed records (the stream sends status updates from it).
  bool Handle(const PgoutputMessage& message, std::span<const std::byte> raw,
              ChangeAssembler& assembler, ChangeHandler& handler,
              const std::function<void()>& tick = {});

  /// The top-level transaction whose stream block is open, if any.
  [[nodiscard]] std::optional<std::uint32_t> in_block() const noexcept { return block_xid_; }

 private:
  void Commit(const StreamCommitMessage& m, ChangeAssembler& assembler, ChangeHandler& handler,
              const std::function<void()>& tick);

  StreamBuffers& buffers_;
  std::optional<std::uint32_t> block_xid_;
};

}  // namespace laredo::pg
