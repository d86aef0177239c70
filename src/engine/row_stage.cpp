#include "engine/row_stage.hpp"

#include <algorithm>

namespace laredo::engine {

bool RowStage::Passes(const Row& row) const {
  return std::all_of(filters_.begin(), filters_.end(), [&](const RowFilter& f) { return f(row); });
}

const Row* RowStage::Transform(const Row& row, std::optional<Row>& storage) const {
  if (transforms_.empty()) return &row;
  Row current = row;
  for (const auto& transform : transforms_) {
    auto next = transform(std::move(current));
    if (!next) return nullptr;
    current = std::move(*next);
  }
  storage = std::move(current);
  return &*storage;
}

bool RowStage::HasUnchanged(const Row& row) noexcept {
  return std::any_of(row.values().begin(), row.values().end(),
                     [](const Value& v) { return v.IsUnchanged(); });
}

bool RowStage::FillUnchanged(Row& row, const Row& from) {
  bool left = false;
  for (std::size_t i = 0; i < row.size(); ++i) {
    Value& value = row.value(i);
    if (!value.IsUnchanged()) continue;
    const Value* previous = from.Find((*row.names())[i]);
    if (previous != nullptr && !previous->IsUnchanged()) {
      value = *previous;
    } else {
      left = true;
    }
  }
  return left;
}

}  // namespace laredo::engine
