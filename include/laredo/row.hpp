#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "laredo/value.hpp"

namespace laredo {

/// An immutable, shareable list of column names. A source makes one per table and every row of that
/// table points at it, so a million rows hold one copy of the names, not a million.
/// Thread-safety: immutable after construction; share freely across threads.
class ColumnNames {
 public:
  explicit ColumnNames(std::vector<std::string> names);

  static std::shared_ptr<const ColumnNames> Make(std::vector<std::string> names) {
    return std::make_shared<const ColumnNames>(std::move(names));
  }

  [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }
  [[nodiscard]] const std::string& operator[](std::size_t i) const { return names_[i]; }
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }
  /// Index of `name`, or nullopt.
  [[nodiscard]] std::optional<std::size_t> Find(std::string_view name) const noexcept;

 private:
  std::vector<std::string> names_;
  // Sorted (name, index) pairs for binary search once the table is wide.
  std::vector<std::pair<std::string_view, std::size_t>> sorted_;
};

/// A row: column name -> `Value`, map-like, iterating in column order.
///
/// The names live in a shared `ColumnNames`; the row owns only its values. Adding a column that
/// the names lack (`row["new"] = ...`) gives this row its own copy of the names (copy-on-write), so
/// rows sharing names are never affected.
/// Thread-safety: a value type; concurrent const access is safe, mutation needs exclusive access.
class Row {
 public:
  /// What iteration yields: `for (const auto& [name, value] : row)`.
  using Entry = std::pair<const std::string&, const Value&>;

  class ConstIterator {
   public:
    using difference_type = std::ptrdiff_t;
    using value_type = Entry;
    ConstIterator() = default;
    ConstIterator(const Row* row, std::size_t i) : row_(row), i_(i) {}
    Entry operator*() const { return {(*row_->names_)[i_], row_->values_[i_]}; }
    ConstIterator& operator++() {
      ++i_;
      return *this;
    }
    ConstIterator operator++(int) {
      auto copy = *this;
      ++i_;
      return copy;
    }
    friend bool operator==(const ConstIterator& a, const ConstIterator& b) { return a.i_ == b.i_; }

   private:
    const Row* row_ = nullptr;
    std::size_t i_ = 0;
  };

  Row();
  /// Fast path for sources: names shared across rows, values in the same order.
  /// Throws `laredo::Error` if the sizes differ.
  Row(std::shared_ptr<const ColumnNames> names, std::vector<Value> values);
  /// Convenience for tests and examples: `Row{{"id", 1}, {"name", "ada"}}`.
  Row(std::initializer_list<std::pair<std::string_view, Value>> entries);

  /// The value of `name`, adding a null column at the end when absent.
  Value& operator[](std::string_view name);
  /// The value of `name`; throws `laredo::Error` (code "no_such_column") when absent.
  [[nodiscard]] const Value& at(std::string_view name) const;
  Value& at(std::string_view name);
  /// Pointer to the value of `name`, or nullptr when absent.
  [[nodiscard]] const Value* Find(std::string_view name) const noexcept;
  [[nodiscard]] bool contains(std::string_view name) const noexcept;
  /// Removes `name` if present; returns whether it was present.
  bool erase(std::string_view name);
  [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
  [[nodiscard]] bool empty() const noexcept { return values_.empty(); }

  [[nodiscard]] ConstIterator begin() const { return {this, 0}; }
  [[nodiscard]] ConstIterator end() const { return {this, values_.size()}; }

  /// Index of `name` in this row, or nullopt.
  [[nodiscard]] std::optional<std::size_t> IndexOf(std::string_view name) const noexcept;
  /// Positional access, in the order of `names()`.
  [[nodiscard]] const Value& value(std::size_t i) const { return values_[i]; }
  Value& value(std::size_t i) { return values_[i]; }
  [[nodiscard]] const std::vector<Value>& values() const noexcept { return values_; }
  /// The shared names; null for an empty row.
  [[nodiscard]] const std::shared_ptr<const ColumnNames>& names() const noexcept { return names_; }

  /// "{id: 1, name: ada}" for logs and test failures.
  [[nodiscard]] std::string ToString() const;

  /// Same set of names with equal values, regardless of column order.
  friend bool operator==(const Row& a, const Row& b);

 private:
  std::shared_ptr<const ColumnNames> names_;
  std::vector<Value> values_;
};

}  // namespace laredo
