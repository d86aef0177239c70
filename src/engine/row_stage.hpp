#pragma once

#include <optional>
#include <vector>

#include "laredo/pipeline_options.hpp"
#include "laredo/row.hpp"

namespace laredo::engine {

/// A pipeline's row logic: its filters and transforms, and the filling-in of columns a source sent
/// as `Value::Unchanged()`. Pure: no threads, no target calls. Used from the worker thread only.
class RowStage {
 public:
  explicit RowStage(const PipelineOptions& options)
      : filters_(options.filters), transforms_(options.transforms) {}

  /// Whether any filter or transform runs: such code must never see an Unchanged marker.
  [[nodiscard]] bool HasRowLogic() const { return !filters_.empty() || !transforms_.empty(); }
  [[nodiscard]] bool HasTransforms() const { return !transforms_.empty(); }

  [[nodiscard]] bool Passes(const Row& row) const;
  /// Runs the transforms: `&row` when there are none, else a pointer into `storage`, or nullptr
  /// when a transform dropped the row.
  const Row* Transform(const Row& row, std::optional<Row>& storage) const;

  [[nodiscard]] static bool HasUnchanged(const Row& row) noexcept;
  /// Replaces every Unchanged value of `row` by the value of the same column in `from`, where
  /// `from` has a real one. Returns whether `row` still holds an Unchanged value.
  static bool FillUnchanged(Row& row, const Row& from);

 private:
  std::vector<RowFilter> filters_;
  std::vector<RowTransform> transforms_;
};

}  // namespace laredo::engine
