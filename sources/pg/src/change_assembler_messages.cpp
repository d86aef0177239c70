// ChangeAssembler: logical decoding messages (pg_logical_emit_message).
#include "change_assembler.hpp"

namespace laredo::pg {

void ChangeAssembler::Deliver(const LogicalMessage& message) {
  on_message_(message);
  // Counted only once the handler returned: one that threw is delivered again.
  if (message.transactional) {
    cursor_->commit_lsn = message.commit_lsn;
    cursor_->message_lsn = message.lsn;
  } else {
    cursor_->untransactional_lsn = message.lsn;
  }
}

void ChangeAssembler::OnLogicalMessage(const LogicalDecodingMessage& m, ChangeHandler& handler) {
  if (!on_message_) return;
  // The default heartbeat's: written to move the slot, not for the user.
  if (!m.transactional && m.prefix == kHeartbeatPrefix) return;
  LogicalMessage out{.prefix = m.prefix,
                     .content = std::string(m.content),
                     .transactional = m.transactional && in_transaction_,
                     .lsn = m.lsn};
  if (!out.transactional) {
    // The server sends again what follows its restart point, which may be older than this.
    if (m.lsn <= cursor_->untransactional_lsn) return;
    Flush(handler);  // the changes decoded before it go first
    Deliver(out);
    return;
  }
  out.commit_lsn = commit_lsn_;
  out.transaction_id = xid_;
  // Before a change that was delivered: so was the message (it went out before that change).
  const StreamPosition at{.commit_lsn = commit_lsn_, .index = index_, .ack_lsn = {}};
  if (StreamPosition::Compare(at, skip_through_) < 0) return;
  // Transactional messages go out in commit order: every one of an earlier transaction went too.
  if (commit_lsn_ < cursor_->commit_lsn ||
      (commit_lsn_ == cursor_->commit_lsn && m.lsn <= cursor_->message_lsn)) {
    return;
  }
  if (held_) {
    // Whether the held change ends the transaction is not known yet: the message waits for it.
    pending_messages_.push_back(std::move(out));
    return;
  }
  Flush(handler);
  Deliver(out);
}

}  // namespace laredo::pg
