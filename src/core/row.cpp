#include "laredo/row.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo {
namespace {

// Below this width a linear scan beats a binary search.
constexpr std::size_t kLinearScanColumns = 12;

}  // namespace

ColumnNames::ColumnNames(std::vector<std::string> names) : names_(std::move(names)) {
  if (names_.size() > kLinearScanColumns) {
    sorted_.reserve(names_.size());
    for (std::size_t i = 0; i < names_.size(); ++i) sorted_.emplace_back(names_[i], i);
    std::sort(sorted_.begin(), sorted_.end());
  }
}

std::optional<std::size_t> ColumnNames::Find(std::string_view name) const noexcept {
  if (sorted_.empty()) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return i;
    }
    return std::nullopt;
  }
  auto it = std::lower_bound(sorted_.begin(), sorted_.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  if (it != sorted_.end() && it->first == name) return it->second;
  return std::nullopt;
}

// An empty row has no names object at all: default-constructing a row (done for every queued
// change) then touches no shared reference count.
Row::Row() = default;

Row::Row(std::shared_ptr<const ColumnNames> names, std::vector<Value> values)
    : names_(std::move(names)), values_(std::move(values)) {
  const std::size_t name_count = names_ ? names_->size() : 0;
  if (name_count != values_.size()) {
    throw Error(codes::kRowShape,
                fmt::format("row has {} names but {} values", name_count, values_.size()));
  }
}

std::optional<std::size_t> Row::IndexOf(std::string_view name) const noexcept {
  return names_ ? names_->Find(name) : std::nullopt;
}

Row::Row(std::initializer_list<std::pair<std::string_view, Value>> entries) {
  std::vector<std::string> names;
  names.reserve(entries.size());
  values_.reserve(entries.size());
  for (const auto& [name, value] : entries) {
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      throw Error(codes::kRowShape, fmt::format("column '{}' given twice", name));
    }
    names.emplace_back(name);
    values_.push_back(value);
  }
  names_ = ColumnNames::Make(std::move(names));
}

Value& Row::operator[](std::string_view name) {
  if (auto i = IndexOf(name)) return values_[*i];
  // Copy-on-write: other rows may share the names.
  std::vector<std::string> names = names_ ? names_->names() : std::vector<std::string>{};
  names.emplace_back(name);
  names_ = ColumnNames::Make(std::move(names));
  values_.emplace_back();
  return values_.back();
}

const Value& Row::at(std::string_view name) const {
  if (const Value* v = Find(name)) return *v;
  throw Error(codes::kNoSuchColumn, fmt::format("row has no column '{}'", name));
}

Value& Row::at(std::string_view name) { return const_cast<Value&>(std::as_const(*this).at(name)); }

const Value* Row::Find(std::string_view name) const noexcept {
  auto i = IndexOf(name);
  return i ? &values_[*i] : nullptr;
}

bool Row::contains(std::string_view name) const noexcept { return IndexOf(name).has_value(); }

bool Row::erase(std::string_view name) {
  auto i = IndexOf(name);
  if (!i) return false;
  std::vector<std::string> names = names_->names();
  names.erase(names.begin() + static_cast<std::ptrdiff_t>(*i));
  names_ = ColumnNames::Make(std::move(names));
  values_.erase(values_.begin() + static_cast<std::ptrdiff_t>(*i));
  return true;
}

std::string Row::ToString() const {
  std::string out = "{";
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (i != 0) out += ", ";
    out += (*names_)[i];
    out += ": ";
    out += values_[i].ToString();
  }
  out += "}";
  return out;
}

bool operator==(const Row& a, const Row& b) {
  if (a.size() != b.size()) return false;
  if (a.names_ == b.names_ || a.empty()) return a.values_ == b.values_;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Value* other = b.Find((*a.names_)[i]);
    if (other == nullptr || !(*other == a.values_[i])) return false;
  }
  return true;
}

}  // namespace laredo
