#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace laredo::metrics {

namespace detail {

struct CounterCell {
  std::atomic<double> value{0.0};
};

struct GaugeCell {
  std::atomic<double> value{0.0};
};

// Per-bucket counts are stored non-cumulative (one increment per observation); the renderer
// accumulates them, and `_count` is their sum, so a scrape never shows `_count` and the `+Inf`
// bucket disagreeing.
struct HistogramCell {
  explicit HistogramCell(const std::vector<double>& upper_bounds);
  const std::vector<double>* bounds;                     // owned by the family
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts;  // bounds->size() + 1 (the +Inf bucket)
  std::atomic<double> sum{0.0};
};

class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  virtual void RenderTo(std::string& out) const = 0;
  [[nodiscard]] const std::string& Name() const noexcept { return name_; }

 protected:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names);
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

}  // namespace detail

/// A monotonically increasing value (`# TYPE ... counter`). A handle: cheap to copy, valid as long
/// as its registry lives; a default-constructed one ignores every call.
///
/// Threading contract: every method is thread-safe and lock-free (one atomic add).
class Counter {
 public:
  using Cell = detail::CounterCell;
  Counter() = default;
  /// Adds `amount`; negative and NaN amounts are ignored (a counter never goes down).
  void Inc(double amount = 1.0) const noexcept {
    if (cell_ != nullptr && amount >= 0.0)
      cell_->value.fetch_add(amount, std::memory_order_relaxed);
  }
  [[nodiscard]] double Value() const noexcept {
    return cell_ == nullptr ? 0.0 : cell_->value.load(std::memory_order_relaxed);
  }

 private:
  template <class>
  friend class Family;
  explicit Counter(Cell* cell) : cell_(cell) {}
  Cell* cell_ = nullptr;
};

/// A value that goes up and down (`# TYPE ... gauge`). Handle semantics as `Counter`.
///
/// Threading contract: every method is thread-safe and lock-free.
class Gauge {
 public:
  using Cell = detail::GaugeCell;
  Gauge() = default;
  void Set(double value) const noexcept {
    if (cell_ != nullptr) cell_->value.store(value, std::memory_order_relaxed);
  }
  void Inc(double amount = 1.0) const noexcept {
    if (cell_ != nullptr) cell_->value.fetch_add(amount, std::memory_order_relaxed);
  }
  void Dec(double amount = 1.0) const noexcept { Inc(-amount); }
  [[nodiscard]] double Value() const noexcept {
    return cell_ == nullptr ? 0.0 : cell_->value.load(std::memory_order_relaxed);
  }

 private:
  template <class>
  friend class Family;
  explicit Gauge(Cell* cell) : cell_(cell) {}
  Cell* cell_ = nullptr;
};

/// Observations counted into fixed buckets (`# TYPE ... histogram`). Handle semantics as
/// `Counter`.
///
/// Threading contract: every method is thread-safe and lock-free; a scrape that runs during an
/// `Observe` may see the bucket count before the sum.
class Histogram {
 public:
  using Cell = detail::HistogramCell;
  Histogram() = default;
  /// Counts `value` into the first bucket whose upper bound is >= value (NaN only into +Inf).
  void Observe(double value) const noexcept;
  /// Observations so far, and their sum.
  [[nodiscard]] std::uint64_t Count() const noexcept;
  [[nodiscard]] double Sum() const noexcept;

 private:
  template <class>
  friend class Family;
  explicit Histogram(Cell* cell) : cell_(cell) {}
  Cell* cell_ = nullptr;
};

/// One metric family: a name, a help text, label names, and one series per set of label values.
///
/// Threading contract: thread-safe. `WithLabels` takes a lock and may allocate; resolve a handle
/// once and keep it for hot paths.
template <class Metric>
class Family final : public detail::FamilyBase {
 public:
  /// The series for `label_values` (in the order of the family's label names), created at 0 on
  /// first use. Throws `std::invalid_argument` when the number of values is wrong.
  Metric WithLabels(const std::vector<std::string>& label_values);
  void RenderTo(std::string& out) const override;

  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds);

 private:
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<typename Metric::Cell>> series_;
};

/// Prometheus's default buckets, in seconds: 0.005 to 10.
std::vector<double> DefaultBuckets();

/// A set of metric families, rendered in the Prometheus text exposition format 0.0.4.
///
/// Names follow Prometheus rules: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
/// `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__`; counter names end in `_total`; a histogram
/// has no `le` label. Violations and duplicate names throw `std::invalid_argument`.
///
/// Threading contract: thread-safe. Families live as long as the registry; the references and
/// handles it gives out stay valid until it is destroyed.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  /// `bounds`: the buckets' upper bounds, strictly increasing and finite (+Inf is implied).
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds = DefaultBuckets());

  /// Every family in registration order, each with its `# HELP` and `# TYPE` line once.
  [[nodiscard]] std::string Render() const;
  /// Appends the same text to `out`.
  void RenderTo(std::string& out) const;

 private:
  void Adopt(std::unique_ptr<detail::FamilyBase> family);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<detail::FamilyBase>> families_;
};

/// The media type of `Registry::Render()`'s output, for an HTTP Content-Type header.
inline constexpr const char* kTextFormatContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace laredo::metrics
