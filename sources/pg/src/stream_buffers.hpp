#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "laredo/pg/streaming.hpp"
#include "temp_file.hpp"

namespace laredo::pg {

/// The counters behind `StreamBufferStats`: written by the stream thread, read by any.
struct StreamCounters {
  std::atomic<std::uint64_t> buffered_bytes{0};
  std::atomic<std::uint64_t> peak_buffered_bytes{0};
  std::atomic<std::uint64_t> spilled_bytes{0};
  std::atomic<std::uint64_t> spilled_transactions{0};
  std::atomic<std::uint64_t> committed_transactions{0};
  std::atomic<std::uint64_t> aborted_transactions{0};
  std::atomic<std::uint64_t> aborted_subtransactions{0};

  [[nodiscard]] StreamBufferStats Snapshot() const;
};

/// Holds the messages of streamed transactions until their Stream Commit or Stream Abort: one
/// record (subtransaction xid, message bytes) after the other per top-level transaction, in
/// memory while the total over all of them stays within `memory_limit`, in a `TempFile` beyond.
/// No protocol knowledge: see `TransactionStreamer`.
///
/// The limit counts the capacity of the in-memory buffers, checked before any of them grows:
/// when growing one would pass the limit, the largest in-memory transaction moves to a spill
/// file, and everything it receives later goes there too (its records stay in order).
/// Thread-safety: one thread (the stream thread); `counters` may be read from any.
class StreamBuffers {
 public:
  StreamBuffers(std::size_t memory_limit, std::string spill_directory, StreamCounters& counters);
  ~StreamBuffers();
  StreamBuffers(const StreamBuffers&) = delete;
  StreamBuffers& operator=(const StreamBuffers&) = delete;

  /// Starts (or restarts, dropping what it held) the buffer of top-level transaction `xid`.
  void Open(std::uint32_t xid);
  [[nodiscard]] bool IsOpen(std::uint32_t xid) const { return txns_.contains(xid); }
  /// Appends one message of `xid` that (sub)transaction `sub_xid` made; `sub_xid == xid` for
  /// records only a whole-transaction abort discards.
  void Append(std::uint32_t xid, std::uint32_t sub_xid, std::span<const std::byte> message);
  /// Discards what subtransaction `sub_xid` of `xid` appended.
  void AbortSubtransaction(std::uint32_t xid, std::uint32_t sub_xid);
  /// Discards transaction `xid`.
  void Abort(std::uint32_t xid);
  /// Calls `fn` with every record of `xid` that was not discarded, in the order appended, then
  /// drops the transaction (also when `fn` throws). The span is valid during the call only.
  void Replay(std::uint32_t xid, const std::function<void(std::span<const std::byte>)>& fn);

  [[nodiscard]] std::size_t open_transactions() const noexcept { return txns_.size(); }
  [[nodiscard]] std::uint64_t buffered_bytes() const noexcept { return in_memory_; }

 private:
  struct Txn {
    std::vector<std::byte> memory;                   // records: Int32 sub xid, Int32 length, bytes
    std::unique_ptr<TempFile> file;                  // once spilled, every later record goes here
    std::unordered_set<std::uint32_t> aborted_subs;  // filtered out at replay (spilled records)
  };

  void Release(Txn& txn);
  void Spill(Txn& txn);
  /// Makes room for `extra` more bytes in `txn`'s memory buffer, spilling as the limit requires.
  void Reserve(Txn& txn, std::size_t extra);
  void Publish();

  std::size_t memory_limit_;
  std::string spill_directory_;
  StreamCounters& counters_;
  std::unordered_map<std::uint32_t, Txn> txns_;
  std::uint64_t in_memory_ = 0;  // sum of the in-memory buffers' capacities
};

}  // namespace laredo::pg
