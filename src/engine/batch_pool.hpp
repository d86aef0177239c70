#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace laredo::engine {

template <typename T>
class BatchPool;
template <typename T>
class BatchRef;

/// Elements a source thread dispatched together (changes of one `OnChanges` call, baseline rows
/// of one table), shared by the pipelines that apply them and recycled through a `BatchPool`.
///
/// Why recycled: the elements are assigned into slots that already hold spent elements, so their
/// storage (vectors, strings) is reused or, at worst, freed on the thread that allocated it, one
/// element per new element. That keeps glibc's malloc on its per-thread caches; freeing whole
/// batches on the worker threads showed as the largest cost of a baseline.
template <typename T>
struct Batch {
  /// Slots [0, size()) hold this batch.
  std::vector<T> items;
  /// Per item, the index of the route (table) it goes to, or kNoRoute (change batches only).
  std::vector<std::uint16_t> routes;
  /// The dispatch sequence number of items[0]; items[i] has first_seq + i (change batches only).
  std::uint64_t first_seq = 0;

  static constexpr std::uint16_t kNoRoute = 0xffff;

 private:
  friend class BatchPool<T>;
  friend class BatchRef<T>;
  std::atomic<int> refs_{0};
};

/// A counted reference to a batch; the last one returns the batch to its pool. Move-only.
template <typename T>
class BatchRef {
 public:
  BatchRef() = default;
  BatchRef(BatchPool<T>* pool, Batch<T>* batch) : pool_(pool), batch_(batch) {}
  BatchRef(BatchRef&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), batch_(std::exchange(other.batch_, nullptr)) {}
  BatchRef& operator=(BatchRef&& other) noexcept {
    if (this != &other) {
      Reset();
      pool_ = std::exchange(other.pool_, nullptr);
      batch_ = std::exchange(other.batch_, nullptr);
    }
    return *this;
  }
  BatchRef(const BatchRef&) = delete;
  BatchRef& operator=(const BatchRef&) = delete;
  ~BatchRef() { Reset(); }

  /// Another reference to the same batch.
  [[nodiscard]] BatchRef Clone() const {
    batch_->refs_.fetch_add(1, std::memory_order_relaxed);
    return BatchRef(pool_, batch_);
  }

  void Reset() {
    if (batch_ != nullptr) pool_->Release(batch_);
    batch_ = nullptr;
  }
  [[nodiscard]] Batch<T>* get() const noexcept { return batch_; }
  Batch<T>* operator->() const noexcept { return batch_; }
  Batch<T>& operator*() const noexcept { return *batch_; }
  explicit operator bool() const noexcept { return batch_ != nullptr; }

 private:
  BatchPool<T>* pool_ = nullptr;
  Batch<T>* batch_ = nullptr;
};

/// The batches of one producer (a source thread). `Acquire` on the producer thread;
/// `Release` (through `BatchRef`) on any thread. It keeps the batches that came back, at most as
/// many as were in flight at once (bounded by the pipelines' buffers), and frees them when
/// destroyed; it must outlive every `BatchRef` (the pipelines and the source runner hold it).
template <typename T>
class BatchPool {
 public:
  BatchPool() = default;
  BatchPool(const BatchPool&) = delete;
  BatchPool& operator=(const BatchPool&) = delete;

  /// A batch to fill, holding one reference for the caller; its items are spent elements to
  /// assign over (or none).
  BatchRef<T> Acquire() {
    std::unique_ptr<Batch<T>> batch;
    std::unique_ptr<Batch<T>> extra;  // freed here, outside the lock
    {
      std::lock_guard lk(mu_);
      used_ = true;
      if (!free_.empty()) {
        batch = std::move(free_.back());
        free_.pop_back();
      }
      // After a burst of small batches more came back than a steady stream needs: free one more
      // per batch taken, on this thread, until the pool is down to its working size.
      if (free_.size() > kKeep) {
        extra = std::move(free_.front());
        free_.erase(free_.begin());
      }
    }
    if (!batch) batch = std::make_unique<Batch<T>>();
    batch->refs_.store(1, std::memory_order_relaxed);
    return BatchRef<T>(this, batch.release());
  }

  /// Frees every batch waiting for reuse when none was taken since the last call, so a quiet
  /// source does not keep a burst's memory. Any thread (the engine calls it from the ACK thread).
  void TrimIfIdle() {
    std::vector<std::unique_ptr<Batch<T>>> spent;
    {
      std::lock_guard lk(mu_);
      if (std::exchange(used_, false)) return;
      spent.swap(free_);
    }
  }

 private:
  friend class BatchRef<T>;
  void Release(Batch<T>* batch) {
    if (batch->refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    std::unique_ptr<Batch<T>> owned(batch);
    std::lock_guard lk(mu_);
    free_.push_back(std::move(owned));
  }

  // Batches kept for reuse beyond which `Acquire` frees the surplus.
  static constexpr std::size_t kKeep = 64;

  std::mutex mu_;
  std::vector<std::unique_ptr<Batch<T>>> free_;
  bool used_ = false;  // a batch was taken since the last TrimIfIdle
};

}  // namespace laredo::engine
