#include "snapshot/row_encoding.hpp"

#include <fmt/format.h>

#include <bit>
#include <utility>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo::snapshot {
namespace {

std::shared_ptr<const ColumnNames> NamesOf(const std::vector<ColumnDefinition>& columns) {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& c : columns) names.push_back(c.name);
  return ColumnNames::Make(std::move(names));
}

void AppendValue(const Value& v, std::string& out) {
  if (v.IsUnchanged()) {
    throw DataError(codes::kBadSnapshot,
                    "snapshot rows cannot hold Value::Unchanged(): a target stores values");
  }
  out.push_back(static_cast<char>(v.kind()));
  // By payload representation: one branch per kind family, no checked accessors in the loop.
  if (const std::int64_t* i = v.IntIf()) {
    io::PutVarint(out, io::ZigZag(*i));
  } else if (const std::string* text = v.StringIf()) {
    io::PutString(out, *text);
  } else if (const double* d = v.DoubleIf()) {
    char b[8];
    const auto bits = std::bit_cast<std::uint64_t>(*d);
    for (int k = 0; k < 8; ++k) b[k] = static_cast<char>(bits >> (8 * k));
    out.append(b, 8);
  } else if (const bool* flag = v.BoolIf()) {
    out.push_back(*flag ? 1 : 0);
  }  // NULL: the kind alone
}

}  // namespace

void FailWith::operator()(const char* what) const {
  throw DataError(codes::kBadSnapshot,
                  fmt::format("snapshot file {}: {} (in the part at byte {})", file, what, offset));
}

RowEncoder::RowEncoder(const std::vector<ColumnDefinition>& columns) : names_(NamesOf(columns)) {}

const std::vector<std::uint64_t>& RowEncoder::RefsOf(const Row& row) {
  // A target's rows share one names object: the mapping is computed once per object.
  if (row.names().get() != cached_names_ || cached_names_ == nullptr) {
    cached_keep_ = row.names();
    cached_names_ = cached_keep_.get();
    cached_refs_.clear();
    for (std::size_t i = 0; i < row.size(); ++i) {
      const auto found = names_->Find((*row.names())[i]);
      cached_refs_.push_back(found ? *found + 1 : 0);
    }
  }
  return cached_refs_;
}

void RowEncoder::Append(const Row& row, std::string& out) {
  const std::size_t start = out.size();
  try {
    io::PutVarint(out, row.size());
    if (row.empty()) return;
    const auto& refs = RefsOf(row);
    for (std::size_t i = 0; i < row.size(); ++i) {
      io::PutVarint(out, refs[i]);
      if (refs[i] == 0) io::PutString(out, (*row.names())[i]);
      AppendValue(row.value(i), out);
    }
  } catch (...) {
    out.resize(start);
    throw;
  }
}

RowDecoder::RowDecoder(const std::vector<ColumnDefinition>& columns) : names_(NamesOf(columns)) {}

void RowDecoder::DecodeValue(BlockCursor& in, Value& out) {
  const std::uint8_t kind = in.Byte();
  switch (static_cast<Value::Kind>(kind)) {
    case Value::Kind::Null:
      out = Value();
      return;
    case Value::Kind::Bool: {
      const std::uint8_t b = in.Byte();
      if (b > 1) in.Fail("a boolean is neither 0 nor 1");
      out = Value(b == 1);
      return;
    }
    case Value::Kind::Double:
      out = Value(std::bit_cast<double>(in.Fixed64()));
      return;
    case Value::Kind::Int:
    case Value::Kind::Date:
    case Value::Kind::Time:
    case Value::Kind::Timestamp:
    case Value::Kind::TimestampTz:
      out = Value::FromInt(static_cast<Value::Kind>(kind), io::UnZigZag(in.Varint()));
      return;
    case Value::Kind::Text:
    case Value::Kind::Bytes:
    case Value::Kind::Numeric:
    case Value::Kind::Json:
    case Value::Kind::Uuid:
      out.AssignString(static_cast<Value::Kind>(kind), in.String());
      return;
    case Value::Kind::Unchanged:
      in.Fail("a row holds an unchanged marker");
  }
  in.Fail("a value has an unknown kind");
}

std::string_view RowDecoder::SkipValue(BlockCursor& in) {
  const char* start = in.mark();
  const std::uint8_t kind = in.Byte();
  switch (static_cast<Value::Kind>(kind)) {
    case Value::Kind::Null:
      break;
    case Value::Kind::Bool:
      if (in.Byte() > 1) in.Fail("a boolean is neither 0 nor 1");
      break;
    case Value::Kind::Double:
      (void)in.Bytes(8);
      break;
    case Value::Kind::Int:
    case Value::Kind::Date:
    case Value::Kind::Time:
    case Value::Kind::Timestamp:
    case Value::Kind::TimestampTz:
      (void)in.Varint();
      break;
    case Value::Kind::Text:
    case Value::Kind::Bytes:
    case Value::Kind::Numeric:
    case Value::Kind::Json:
    case Value::Kind::Uuid:
      (void)in.String();
      break;
    case Value::Kind::Unchanged:
      in.Fail("a row holds an unchanged marker");
    default:
      in.Fail("a value has an unknown kind");
  }
  return {start, static_cast<std::size_t>(in.mark() - start)};
}

bool RowDecoder::DecodeRaw(BlockCursor& in, std::vector<std::string_view>& columns) const {
  const char* start = in.mark();
  const std::uint64_t fields = in.Varint();
  if (fields > in.remaining() / 2) in.Fail("a row's field count exceeds its block");
  columns.assign(names_->size(), std::string_view());
  for (std::uint64_t i = 0; i < fields; ++i) {
    const std::uint64_t ref = in.Varint();
    if (ref == 0) {
      in.Rewind(start);
      return false;
    }
    if (ref > names_->size()) in.Fail("a field refers to a column the table does not have");
    std::string_view& column = columns[static_cast<std::size_t>(ref - 1)];
    if (!column.empty()) in.Fail("a row names a column twice");
    column = SkipValue(in);
  }
  return true;
}

bool RowDecoder::DecodeInPlace(BlockCursor& in, Row& row) {
  const char* start = in.mark();
  const std::size_t n = names_->size();
  if (in.Varint() != n) {
    in.Rewind(start);
    return false;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (in.Varint() != i + 1) {
      in.Rewind(start);
      return false;
    }
    DecodeValue(in, row.value(i));
  }
  return true;
}

void RowDecoder::Decode(BlockCursor& in, Row& row) {
  // The common case: a row of the table's columns into a row that has them (the previous one).
  if (row.names() == names_ && row.size() == names_->size() && DecodeInPlace(in, row)) return;
  const std::uint64_t fields = in.Varint();
  // Every field takes at least two bytes (ref, kind): a larger count is corrupt, not a reason to
  // allocate.
  if (fields > in.remaining() / 2) in.Fail("a row's field count exceeds its block");
  const std::size_t n = static_cast<std::size_t>(fields);
  values_.resize(n);
  bool standard = n == names_->size();  // the table's columns, in order: the shared names
  extra_names_.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t ref = in.Varint();
    if (ref == 0) {
      standard = false;
      extra_names_.emplace_back(in.String());
    } else if (ref > names_->size()) {
      in.Fail("a field refers to a column the table does not have");
    } else {
      if (ref != i + 1) standard = false;
      extra_names_.push_back((*names_)[static_cast<std::size_t>(ref - 1)]);
    }
    DecodeValue(in, values_[i]);
  }
  if (standard) {
    row = Row(names_, values_);
    return;
  }
  try {
    row = Row(ColumnNames::Make(extra_names_), values_);
  } catch (const Error&) {
    in.Fail("a row names a column twice");
  }
}

}  // namespace laredo::snapshot
