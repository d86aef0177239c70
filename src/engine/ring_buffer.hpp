#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace laredo::engine {

/// A FIFO of at most `capacity` elements over one allocation that grows to the peak size it saw
/// (std::deque allocates and frees a chunk every few pushes, which showed on the per-change hot
/// path). Not thread-safe; the pipeline locks around it.
template <typename T>
class RingBuffer {
 public:
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] std::size_t size() const { return size_; }

  void push_back(T value) {
    if (size_ == slots_.size()) Grow();
    slots_[(head_ + size_) % slots_.size()] = std::move(value);
    ++size_;
  }

  T& front() { return slots_[head_]; }

  void pop_front() {
    slots_[head_] = T{};  // release what the element holds now, not when the slot is reused
    head_ = (head_ + 1) % slots_.size();
    --size_;
  }

  /// Removes the `i`-th element (0 = front), keeping the order of the rest.
  void erase_at(std::size_t i) {
    for (std::size_t k = i; k + 1 < size_; ++k) {
      slots_[(head_ + k) % slots_.size()] = std::move(slots_[(head_ + k + 1) % slots_.size()]);
    }
    slots_[(head_ + size_ - 1) % slots_.size()] = T{};
    --size_;
  }

  T& at(std::size_t i) { return slots_[(head_ + i) % slots_.size()]; }

  /// Moves every element, in order, to the end of `out`.
  void drain_into(std::vector<T>& out) {
    for (std::size_t k = 0; k < size_; ++k) {
      out.push_back(std::move(slots_[(head_ + k) % slots_.size()]));
    }
    head_ = 0;
    size_ = 0;
  }

  void clear() {
    for (std::size_t k = 0; k < size_; ++k) slots_[(head_ + k) % slots_.size()] = T{};
    head_ = 0;
    size_ = 0;
  }

 private:
  void Grow() {
    std::vector<T> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (std::size_t k = 0; k < size_; ++k)
      bigger[k] = std::move(slots_[(head_ + k) % slots_.size()]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace laredo::engine
