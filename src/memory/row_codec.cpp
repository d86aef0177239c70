#include "memory/row_codec.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "laredo/memory/key.hpp"
#include "memory/varint.hpp"

namespace laredo::memory {
namespace {

bool IsIntKind(std::uint8_t kind) {
  switch (static_cast<Value::Kind>(kind)) {
    case Value::Kind::Int:
    case Value::Kind::Date:
    case Value::Kind::Time:
    case Value::Kind::Timestamp:
    case Value::Kind::TimestampTz:
      return true;
    default:
      return false;
  }
}

// The payload of a column of `kind` starting at `p`; returns the byte after it.
const std::uint8_t* SkipPayload(std::uint8_t kind, const std::uint8_t* p) {
  if (kind == RowCodec::kAbsent) return p;
  switch (static_cast<Value::Kind>(kind)) {
    case Value::Kind::Null:
    case Value::Kind::Unchanged:
      return p;
    case Value::Kind::Bool:
      return p + 1;
    case Value::Kind::Double:
      return p + sizeof(double);
    default:
      if (IsIntKind(kind)) return varint::Skip(p);
      const auto length = varint::Read(p);
      return p + length;
  }
}

}  // namespace

RowCodec::RowCodec(std::vector<std::string> table_columns)
    : names_(ColumnNames::Make(std::move(table_columns))),
      declared_(names_->size(), true),
      bases_(names_->size(), 0),
      has_base_(names_->size(), false) {}

// ---- encoding (writer) ----------------------------------------------------------------------

const RowCodec::Layout& RowCodec::LayoutOf(const Row& row) {
  for (const auto& l : layouts_) {
    if (l.names == row.names()) return l;
  }
  Layout layout{row.names(), std::vector<int>(names_->size(), -1)};
  for (std::size_t j = 0; j < row.size(); ++j) {
    const std::string& name = (*row.names())[j];
    auto i = names_->Find(name);
    if (!i) {  // a column the source did not announce (e.g. added by a transform): keep it
      auto grown = names_->names();
      grown.push_back(name);
      names_ = ColumnNames::Make(std::move(grown));
      declared_.push_back(false);
      bases_.push_back(0);
      has_base_.push_back(false);
      for (auto& l : layouts_) l.table_to_row.push_back(-1);
      layout.table_to_row.push_back(-1);
      i = names_->size() - 1;
    }
    layout.table_to_row[*i] = static_cast<int>(j);
  }
  if (layouts_.size() >= 8) layouts_.erase(layouts_.begin());
  layouts_.push_back(std::move(layout));
  return layouts_.back();
}

std::uint32_t RowCodec::SignatureOf(std::string_view kinds) {
  // Consecutive rows almost always share their kinds: compare with the last one first.
  if (last_signature_ < signatures_.size() && signatures_[last_signature_] == kinds) {
    return last_signature_;
  }
  auto [it, added] = signature_numbers_.try_emplace(std::string(kinds),
                                                    static_cast<std::uint32_t>(signatures_.size()));
  if (added) signatures_.emplace_back(kinds);
  last_signature_ = it->second;
  return it->second;
}

std::string_view RowCodec::Encode(const Row& row) {
  const Layout& layout = LayoutOf(row);
  kinds_scratch_.clear();
  for (int j : layout.table_to_row) {
    const Value* v = j < 0 ? nullptr : &row.value(static_cast<std::size_t>(j));
    kinds_scratch_.push_back(static_cast<char>(
        v == nullptr || v->IsUnchanged() ? kAbsent : static_cast<std::uint8_t>(v->kind())));
  }
  scratch_.clear();
  varint::Append(scratch_, SignatureOf(kinds_scratch_));
  for (std::size_t i = 0; i < layout.table_to_row.size(); ++i) {
    if (static_cast<std::uint8_t>(kinds_scratch_[i]) == kAbsent) continue;
    const Value& v = row.value(static_cast<std::size_t>(layout.table_to_row[i]));
    if (const auto* n = v.IntIf()) {
      if (!has_base_[i]) {
        bases_[i] = *n;
        has_base_[i] = true;
      }
      // Wrapping subtraction: reversible for any pair of 64-bit values.
      const auto distance = static_cast<std::int64_t>(static_cast<std::uint64_t>(*n) -
                                                      static_cast<std::uint64_t>(bases_[i]));
      varint::Append(scratch_, varint::ZigZag(distance));
    } else if (const auto* s = v.StringIf()) {
      varint::Append(scratch_, s->size());
      scratch_.append(*s);
    } else if (const auto* d = v.DoubleIf()) {
      char bytes[sizeof(double)];
      std::memcpy(bytes, d, sizeof(double));
      scratch_.append(bytes, sizeof(double));
    } else if (const auto* b = v.BoolIf()) {
      scratch_.push_back(*b ? 1 : 0);
    }
  }
  return scratch_;
}

std::string_view RowCodec::EncodeKeyed(std::span<const std::string_view> columns) {
  // Doubles: the key encoding holds little-endian bytes, stored rows native ones.
  static_assert(std::endian::native == std::endian::little);
  kinds_scratch_.clear();
  for (const auto v : columns)
    kinds_scratch_.push_back(v.empty() ? static_cast<char>(kAbsent) : v[0]);
  scratch_.clear();
  varint::Append(scratch_, SignatureOf(kinds_scratch_));
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::string_view v = columns[i];
    if (v.empty()) continue;
    if (IsIntKind(static_cast<std::uint8_t>(v[0]))) {
      const auto* p = reinterpret_cast<const std::uint8_t*>(v.data() + 1);
      const std::int64_t n = varint::UnZigZag(varint::Read(p));
      if (!has_base_[i]) {
        bases_[i] = n;
        has_base_[i] = true;
      }
      const auto distance = static_cast<std::int64_t>(static_cast<std::uint64_t>(n) -
                                                      static_cast<std::uint64_t>(bases_[i]));
      varint::Append(scratch_, varint::ZigZag(distance));
    } else {
      scratch_.append(v.substr(1));  // strings, doubles, booleans: the same bytes
    }
  }
  return scratch_;
}

bool RowCodec::KeyOfRow(const Row& row, const std::vector<std::uint32_t>& columns,
                        std::string& out) {
  const Layout& layout = LayoutOf(row);
  for (auto c : columns) {
    const int j = layout.table_to_row[c];
    if (j < 0 || row.value(static_cast<std::size_t>(j)).IsUnchanged()) return false;
    AppendKey(out, row.value(static_cast<std::size_t>(j)));
  }
  return true;
}

bool RowCodec::KeyOfRowByName(const Row& row, const std::vector<std::uint32_t>& columns,
                              std::string& out) const {
  for (auto c : columns) {
    const Value* v = row.Find((*names_)[c]);
    if (v == nullptr || v->IsUnchanged()) return false;
    AppendKey(out, *v);
  }
  return true;
}

void RowCodec::AddColumns(const std::vector<std::string>& names) {
  auto grown = names_->names();
  for (const auto& name : names) {
    if (!names_->Find(name)) grown.push_back(name);
  }
  names_ = ColumnNames::Make(std::move(grown));
  declared_.resize(names_->size(), false);
  bases_.resize(names_->size(), 0);
  has_base_.resize(names_->size(), false);
  for (const auto& name : names) declared_[*names_->Find(name)] = true;
  layouts_.clear();
}

// ---- reading (any thread) -------------------------------------------------------------------

const std::uint8_t* RowCodec::Begin(const std::uint8_t* data, std::string_view& kinds) const {
  const std::uint8_t* p = data;
  kinds = signatures_[varint::Read(p)];
  return p;
}

std::size_t RowCodec::SizeOf(const std::uint8_t* data) const {
  std::string_view kinds;
  const std::uint8_t* p = Begin(data, kinds);
  for (char kind : kinds) p = SkipPayload(static_cast<std::uint8_t>(kind), p);
  return static_cast<std::size_t>(p - data);
}

void RowCodec::AppendKeyOf(const std::uint8_t* data, const std::vector<std::uint32_t>& columns,
                           std::string& out) const {
  std::string_view kinds;
  const std::uint8_t* p = Begin(data, kinds);
  const std::uint32_t last = *std::max_element(columns.begin(), columns.end());
  // Where each column's payload starts, up to the last key column (keys are a few columns).
  constexpr std::size_t kInline = 16;
  std::array<const std::uint8_t*, kInline> inline_starts{};
  std::vector<const std::uint8_t*> heap_starts;
  const std::uint8_t** starts = inline_starts.data();
  if (last >= kInline) {
    heap_starts.resize(last + 1);
    starts = heap_starts.data();
  }
  for (std::uint32_t i = 0; i <= last && i < kinds.size(); ++i) {
    starts[i] = p;
    p = SkipPayload(static_cast<std::uint8_t>(kinds[i]), p);
  }
  for (auto c : columns) {
    if (c >= kinds.size()) {  // stored before the column was added
      out.push_back(
          static_cast<char>(declared_[c] ? static_cast<std::uint8_t>(Value::Kind::Null) : kAbsent));
      continue;
    }
    const auto kind = static_cast<std::uint8_t>(kinds[c]);
    out.push_back(static_cast<char>(kind));
    const std::uint8_t* payload = starts[c];
    if (IsIntKind(kind)) {
      const auto distance = static_cast<std::uint64_t>(varint::UnZigZag(varint::Read(payload)));
      varint::Append(out, varint::ZigZag(static_cast<std::int64_t>(
                              distance + static_cast<std::uint64_t>(bases_[c]))));
    } else {  // the stored payload is already the canonical one
      out.append(reinterpret_cast<const char*>(payload),
                 static_cast<std::size_t>(SkipPayload(kind, payload) - payload));
    }
  }
}

Row RowCodec::Decode(const std::uint8_t* data) const {
  std::string_view kinds;
  const std::uint8_t* p = Begin(data, kinds);
  // A row lacking a column (a transform removed it, or only some rows carry it) gets its own
  // names; every other row shares the table's, so the common case copies no names.
  bool whole = kinds.find(static_cast<char>(kAbsent)) == std::string_view::npos;
  for (std::size_t i = kinds.size(); i < names_->size(); ++i) whole = whole && declared_[i];
  std::vector<Value> values;
  std::vector<std::string> subset;
  values.reserve(names_->size());
  for (std::uint32_t i = 0; i < kinds.size(); ++i) {
    const auto kind = static_cast<std::uint8_t>(kinds[i]);
    if (kind == kAbsent) continue;
    if (!whole) subset.push_back((*names_)[i]);
    const auto k = static_cast<Value::Kind>(kind);
    if (IsIntKind(kind)) {
      const auto distance = static_cast<std::uint64_t>(varint::UnZigZag(varint::Read(p)));
      values.push_back(Value::FromInt(
          k, static_cast<std::int64_t>(distance + static_cast<std::uint64_t>(bases_[i]))));
      continue;
    }
    switch (k) {
      case Value::Kind::Null:
        values.emplace_back();
        break;
      case Value::Kind::Bool:
        values.emplace_back(*p++ != 0);
        break;
      case Value::Kind::Double: {
        double d = 0;
        std::memcpy(&d, p, sizeof d);
        p += sizeof d;
        values.emplace_back(d);
        break;
      }
      default: {
        const auto length = varint::Read(p);
        values.push_back(
            Value::FromString(k, std::string(reinterpret_cast<const char*>(p), length)));
        p += length;
      }
    }
  }
  // Stored before the table grew: a column added since (ADD COLUMN without a default) reads as
  // NULL, as SELECT * does; one that only some rows carry (added by a transform) stays absent.
  for (std::size_t i = kinds.size(); i < names_->size(); ++i) {
    if (declared_[i]) {
      values.emplace_back();
      if (!whole) subset.push_back((*names_)[i]);
    }
  }
  if (whole) return Row(names_, std::move(values));
  return Row(ColumnNames::Make(std::move(subset)), std::move(values));
}

std::size_t RowCodec::MemoryUsage() const {
  std::size_t bytes = 0;
  for (const auto& s : signatures_) bytes += s.size() + sizeof(std::string);
  return bytes;
}

}  // namespace laredo::memory
