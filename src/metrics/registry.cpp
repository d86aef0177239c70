#include "laredo/metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <utility>

#include "metrics/text_format.hpp"

namespace laredo::metrics {

namespace detail {

HistogramCell::HistogramCell(const std::vector<double>& upper_bounds)
    : bounds(&upper_bounds),
      counts(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size() + 1)) {}

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

}  // namespace detail

namespace {

using detail::AppendHeader;
using detail::AppendLabels;
using detail::AppendNumber;

void RenderSample(std::string& out, std::string_view name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, double value) {
  out += name;
  AppendLabels(out, names, values);
  out += ' ';
  AppendNumber(out, value);
  out += '\n';
}

void CheckLabelNames(const std::string& family, const std::vector<std::string>& names,
                     bool histogram) {
  std::set<std::string> seen;
  for (const auto& label : names) {
    if (!detail::IsValidLabelName(label)) {
      throw std::invalid_argument("metric " + family + ": invalid label name '" + label + "'");
    }
    if (histogram && label == "le") {
      throw std::invalid_argument("histogram " + family + " may not have a label 'le'");
    }
    if (!seen.insert(label).second) {
      throw std::invalid_argument("metric " + family + ": duplicate label name '" + label + "'");
    }
  }
}

}  // namespace

void Histogram::Observe(double value) const noexcept {
  if (cell_ == nullptr) return;
  const auto& bounds = *cell_->bounds;
  // NaN compares false with every bound and so lands in +Inf only, as Prometheus clients do.
  const auto index =
      std::isnan(value)
          ? bounds.size()
          : static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                                     bounds.begin());
  cell_->counts[index].fetch_add(1, std::memory_order_relaxed);
  cell_->sum.fetch_add(value, std::memory_order_relaxed);
}

std::uint64_t Histogram::Count() const noexcept {
  if (cell_ == nullptr) return 0;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= cell_->bounds->size(); ++i) {
    total += cell_->counts[i].load(std::memory_order_relaxed);
  }
  return total;
}

double Histogram::Sum() const noexcept {
  return cell_ == nullptr ? 0.0 : cell_->sum.load(std::memory_order_relaxed);
}

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <class Metric>
Metric Family<Metric>::WithLabels(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " has " + std::to_string(label_names_.size()) +
                                " labels, got " + std::to_string(label_values.size()) + " values");
  }
  std::lock_guard lk(mu_);
  auto& cell = series_[label_values];
  if (!cell) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      cell = std::make_unique<detail::HistogramCell>(bounds_);
    } else {
      cell = std::make_unique<typename Metric::Cell>();
    }
  }
  return Metric(cell.get());
}

template <>
void Family<Counter>::RenderTo(std::string& out) const {
  AppendHeader(out, name_, help_, "counter");
  std::lock_guard lk(mu_);
  for (const auto& [values, cell] : series_) {
    RenderSample(out, name_, label_names_, values, cell->value.load(std::memory_order_relaxed));
  }
}

template <>
void Family<Gauge>::RenderTo(std::string& out) const {
  AppendHeader(out, name_, help_, "gauge");
  std::lock_guard lk(mu_);
  for (const auto& [values, cell] : series_) {
    RenderSample(out, name_, label_names_, values, cell->value.load(std::memory_order_relaxed));
  }
}

template <>
void Family<Histogram>::RenderTo(std::string& out) const {
  AppendHeader(out, name_, help_, "histogram");
  const std::string bucket = name_ + "_bucket";
  std::lock_guard lk(mu_);
  for (const auto& [values, cell] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += cell->counts[i].load(std::memory_order_relaxed);
      out += bucket;
      AppendLabels(out, label_names_, values, "le",
                   i < bounds_.size() ? detail::FormatNumber(bounds_[i]) : "+Inf");
      out += ' ';
      AppendNumber(out, static_cast<double>(cumulative));
      out += '\n';
    }
    RenderSample(out, name_ + "_sum", label_names_, values,
                 cell->sum.load(std::memory_order_relaxed));
    RenderSample(out, name_ + "_count", label_names_, values, static_cast<double>(cumulative));
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

std::vector<double> DefaultBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Registry::Registry() = default;
Registry::~Registry() = default;

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  if (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0) {
    throw std::invalid_argument("counter " + name + ": counter names end in _total");
  }
  CheckLabelNames(name, label_names, false);
  auto family = std::make_unique<Family<Counter>>(std::move(name), std::move(help),
                                                  std::move(label_names), std::vector<double>{});
  auto& ref = *family;
  Adopt(std::move(family));
  return ref;
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  CheckLabelNames(name, label_names, false);
  auto family = std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                                std::move(label_names), std::vector<double>{});
  auto& ref = *family;
  Adopt(std::move(family));
  return ref;
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  CheckLabelNames(name, label_names, true);
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      throw std::invalid_argument("histogram " + name +
                                  ": bucket bounds must be finite and strictly increasing");
    }
  }
  auto family = std::make_unique<Family<Histogram>>(std::move(name), std::move(help),
                                                    std::move(label_names), std::move(bounds));
  auto& ref = *family;
  Adopt(std::move(family));
  return ref;
}

void Registry::Adopt(std::unique_ptr<detail::FamilyBase> family) {
  const auto& name = family->Name();
  if (!detail::IsValidMetricName(name)) {
    throw std::invalid_argument("invalid metric name '" + name + "'");
  }
  std::lock_guard lk(mu_);
  for (const auto& existing : families_) {
    if (existing->Name() == name) {
      throw std::invalid_argument("metric " + name + " is already registered");
    }
  }
  families_.push_back(std::move(family));
}

std::string Registry::Render() const {
  std::string out;
  RenderTo(out);
  return out;
}

void Registry::RenderTo(std::string& out) const {
  std::lock_guard lk(mu_);
  for (const auto& family : families_) family->RenderTo(out);
}

}  // namespace laredo::metrics
