#include "stream_buffers.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::pg {
namespace {

// A record's header: the subtransaction xid and the message length, in host order (the bytes
// never leave this process).
constexpr std::size_t kHeader = 8;
constexpr std::size_t kMinCapacity = 4096;

std::array<std::byte, kHeader> Header(std::uint32_t sub_xid, std::uint32_t length) {
  std::array<std::byte, kHeader> h{};
  std::memcpy(h.data(), &sub_xid, 4);
  std::memcpy(h.data() + 4, &length, 4);
  return h;
}

void ReadHeader(const std::byte* p, std::uint32_t& sub_xid, std::uint32_t& length) {
  std::memcpy(&sub_xid, p, 4);
  std::memcpy(&length, p + 4, 4);
}

}  // namespace

StreamBufferStats StreamCounters::Snapshot() const {
  return {.buffered_bytes = buffered_bytes.load(),
          .peak_buffered_bytes = peak_buffered_bytes.load(),
          .spilled_bytes = spilled_bytes.load(),
          .spilled_transactions = spilled_transactions.load(),
          .committed_transactions = committed_transactions.load(),
          .aborted_transactions = aborted_transactions.load(),
          .aborted_subtransactions = aborted_subtransactions.load()};
}

StreamBuffers::StreamBuffers(std::size_t memory_limit, std::string spill_directory,
                             StreamCounters& counters)
    : memory_limit_(memory_limit),
      spill_directory_(std::move(spill_directory)),
      counters_(counters) {}

StreamBuffers::~StreamBuffers() {
  txns_.clear();
  in_memory_ = 0;
  Publish();
}

void StreamBuffers::Publish() {
  counters_.buffered_bytes.store(in_memory_);
  if (in_memory_ > counters_.peak_buffered_bytes.load()) {
    counters_.peak_buffered_bytes.store(in_memory_);
  }
}

void StreamBuffers::Release(Txn& txn) {
  in_memory_ -= txn.memory.capacity();
  std::vector<std::byte>().swap(txn.memory);
  Publish();
}

void StreamBuffers::Open(std::uint32_t xid) {
  if (auto it = txns_.find(xid); it != txns_.end()) {
    Release(it->second);
    txns_.erase(it);
  }
  txns_.try_emplace(xid);
}

void StreamBuffers::Spill(Txn& txn) {
  txn.file = std::make_unique<TempFile>(spill_directory_);
  txn.file->Append(txn.memory);
  counters_.spilled_bytes += txn.memory.size();
  ++counters_.spilled_transactions;
  Release(txn);
}

void StreamBuffers::Reserve(Txn& txn, std::size_t extra) {
  auto& m = txn.memory;
  if (txn.file || m.size() + extra <= m.capacity()) return;
  const std::size_t needed = m.size() + extra;
  while (!txn.file) {
    const std::uint64_t others = in_memory_ - m.capacity();
    if (others + needed <= memory_limit_) {
      // Doubling keeps appends cheap; near the limit, grow only as far as it allows.
      const std::size_t room = memory_limit_ - others;
      const std::size_t grown = std::min(std::max({m.capacity() * 2, needed, kMinCapacity}), room);
      const std::size_t before = m.capacity();
      m.reserve(std::max(grown, needed));
      in_memory_ += m.capacity() - before;
      Publish();
      return;
    }
    Txn* largest = &txn;
    for (auto& [xid, t] : txns_) {
      if (!t.file && t.memory.capacity() > largest->memory.capacity()) largest = &t;
    }
    Spill(*largest);  // possibly `txn` itself, which ends the loop
  }
}

void StreamBuffers::Append(std::uint32_t xid, std::uint32_t sub_xid,
                           std::span<const std::byte> message) {
  auto& txn = txns_[xid];
  const auto header = Header(sub_xid, static_cast<std::uint32_t>(message.size()));
  Reserve(txn, kHeader + message.size());
  if (txn.file) {
    txn.file->Append(header);
    txn.file->Append(message);
    counters_.spilled_bytes += kHeader + message.size();
    return;
  }
  txn.memory.insert(txn.memory.end(), header.begin(), header.end());
  txn.memory.insert(txn.memory.end(), message.begin(), message.end());
}

void StreamBuffers::AbortSubtransaction(std::uint32_t xid, std::uint32_t sub_xid) {
  auto it = txns_.find(xid);
  if (it == txns_.end()) return;
  auto& txn = it->second;
  txn.aborted_subs.insert(sub_xid);
  ++counters_.aborted_subtransactions;
  if (txn.file) return;  // filtered at replay
  // Compacts in place: the records kept move towards the front, in order.
  auto& m = txn.memory;
  std::size_t read = 0;
  std::size_t write = 0;
  while (read < m.size()) {
    std::uint32_t sub = 0;
    std::uint32_t length = 0;
    ReadHeader(m.data() + read, sub, length);
    const std::size_t record = kHeader + length;
    if (sub != sub_xid) {
      if (write != read) std::memmove(m.data() + write, m.data() + read, record);
      write += record;
    }
    read += record;
  }
  m.resize(write);
}

void StreamBuffers::Abort(std::uint32_t xid) {
  auto it = txns_.find(xid);
  if (it == txns_.end()) return;
  Release(it->second);
  txns_.erase(it);
  ++counters_.aborted_transactions;
}

void StreamBuffers::Replay(std::uint32_t xid,
                           const std::function<void(std::span<const std::byte>)>& fn) {
  auto node = txns_.extract(xid);
  if (node.empty()) return;
  // Dropped however the replay ends: a failed dispatch is streamed again after the reconnect.
  struct Drop {
    StreamBuffers& self;
    Txn& txn;
    ~Drop() { self.Release(txn); }
  } drop{*this, node.mapped()};
  auto& txn = node.mapped();
  if (txn.file) {
    txn.file->Flush();
    TempFile::Reader reader(*txn.file);
    std::array<std::byte, kHeader> header{};
    std::vector<std::byte> body;
    while (reader.Read(header)) {
      std::uint32_t sub = 0;
      std::uint32_t length = 0;
      ReadHeader(header.data(), sub, length);
      body.resize(length);
      if (!reader.Read(body) && length > 0) {
        throw RetryableError(codes::kPgSpillIo, "spill file ends inside a record");
      }
      if (!txn.aborted_subs.contains(sub)) fn(body);
    }
  } else {
    const auto& m = txn.memory;
    for (std::size_t at = 0; at < m.size();) {
      std::uint32_t sub = 0;
      std::uint32_t length = 0;
      ReadHeader(m.data() + at, sub, length);
      fn(std::span<const std::byte>(m.data() + at + kHeader, length));
      at += kHeader + length;
    }
  }
  ++counters_.committed_transactions;
}

}  // namespace laredo::pg
