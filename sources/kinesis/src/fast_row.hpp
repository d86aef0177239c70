#pragma once

#include <optional>
#include <string_view>

#include "contract.hpp"

// A table-object line straight into a Row, without building a JSON tree: the baseline's hot path.
namespace laredo::kinesis::contract {

/// The row `Decoder::DecodeRow` gives for `line`, for the lines this parser is sure about: one
/// flat JSON object of manifest columns, each at most once, whose values are null, booleans,
/// strings (UTF-8, simple escapes), numbers fitting their column, or compact JSON for json
/// columns. Anything else, every error included, is nullopt: the caller decodes the line through
/// the JSON tree, which decides what it means or why it is wrong. Never throws for bad input.
/// Pure; thread-safe.
std::optional<Row> TryDecodeRowFast(const Decoder::Table& table, std::string_view line);

}  // namespace laredo::kinesis::contract
