#pragma once

#include <memory>
#include <mutex>

namespace laredo::engine {

/// Holds the shared-target lock, if any, for one target call (a target bound to several
/// pipelines is called by one pipeline at a time).
class TargetLock {
 public:
  explicit TargetLock(const std::shared_ptr<std::mutex>& mu) : mu_(mu.get()) {
    if (mu_ != nullptr) mu_->lock();
  }
  ~TargetLock() {
    if (mu_ != nullptr) mu_->unlock();
  }
  TargetLock(const TargetLock&) = delete;
  TargetLock& operator=(const TargetLock&) = delete;

 private:
  std::mutex* mu_;
};

}  // namespace laredo::engine
