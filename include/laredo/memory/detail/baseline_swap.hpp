#pragma once

#include <memory>
#include <utility>

namespace laredo::memory::detail {

/// Build-aside-and-swap for an in-memory target's contents (`Store`): readers see `live()`; a
/// baseline of a table that holds rows fills a second store aside, swapped in by `Complete`, so
/// readers never see a partial table. A first baseline (nothing to protect) fills `live()` in
/// place. A baseline that fails part-way is abandoned by the next `Begin`. Not thread-safe: the
/// owner locks (and swaps under its exclusive lock).
template <typename Store>
class BaselineSwap {
 public:
  /// New, empty contents (OnInit): a baseline follows.
  void Reset(std::unique_ptr<Store> fresh) {
    live_ = std::move(fresh);
    building_.reset();
    complete_ = false;
  }
  /// A baseline starts into `fresh` (made with the baseline's columns).
  void Begin(std::unique_ptr<Store> fresh, bool live_is_empty) {
    if (live_is_empty) {
      Reset(std::move(fresh));
    } else {
      building_ = std::move(fresh);  // replaces a failed attempt's partial copy too
      complete_ = false;
    }
  }
  /// Swaps the built contents in; returns the replaced ones when the baseline was built aside
  /// (null when it filled the live store in place).
  std::unique_ptr<Store> Complete() {
    complete_ = true;
    if (!building_) return nullptr;
    return std::exchange(live_, std::move(building_));
  }

  /// Complete contents from elsewhere (a snapshot's restore): readers see them at once, and a
  /// baseline that was being built aside is abandoned. Returns the replaced live contents, for
  /// the caller to free outside its lock.
  std::unique_ptr<Store> Restored(std::unique_ptr<Store> complete) {
    building_.reset();
    complete_ = true;
    return std::exchange(live_, std::move(complete));
  }

  /// Empties the contents writes go to (a truncate): `fresh` takes their place; returns them.
  std::unique_ptr<Store> ReplaceWritable(std::unique_ptr<Store> fresh) {
    return std::exchange(building_ ? building_ : live_, std::move(fresh));
  }

  /// Where writes go: the contents being built, else the live ones.
  [[nodiscard]] Store& writable() { return building_ ? *building_ : *live_; }
  /// Null before the first `Reset`.
  [[nodiscard]] Store* live() const { return live_.get(); }
  [[nodiscard]] Store* building() const { return building_.get(); }
  [[nodiscard]] bool building_aside() const { return building_ != nullptr; }
  [[nodiscard]] bool complete() const { return complete_; }

 private:
  std::unique_ptr<Store> live_;
  std::unique_ptr<Store> building_;
  bool complete_ = false;
};

}  // namespace laredo::memory::detail
