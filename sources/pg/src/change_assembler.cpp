#include "change_assembler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "replication_messages.hpp"
#include "type_mapping.hpp"

namespace laredo::pg {
namespace {

// A commit timestamp as the system clock holds it (nanoseconds: about 1678..2262). Corrupt or
// extreme wire values saturate instead of overflowing.
std::chrono::system_clock::time_point CommitTime(std::int64_t pg_epoch_micros) {
  using Clock = std::chrono::system_clock;
  const auto micros = FromPgEpochMicros(pg_epoch_micros).time_since_epoch();
  constexpr auto kMax =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::max());
  constexpr auto kMin =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::min());
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::clamp(micros, kMin, kMax)));
}

}  // namespace

ChangeAssembler::ChangeAssembler(std::map<TableIdentifier, std::vector<ColumnDefinition>> known,
                                 StreamPosition skip_through, ValueTypeFn value_type,
                                 AddedColumnFn on_added_column)
    : columns_(std::move(known)),
      value_type_(std::move(value_type)),
      on_added_column_(std::move(on_added_column)),
      skip_through_(skip_through),
      last_delivered_(skip_through),
      previous_end_(skip_through.ack_lsn) {}

const ChangeAssembler::Relation* ChangeAssembler::Find(std::uint32_t relation_id) const {
  auto it = relations_.find(relation_id);
  if (it == relations_.end()) {
    // The server always sends a Relation before the first change that uses it.
    throw DataError(codes::kPgoutputProtocol,
                    fmt::format("change for relation {} before its Relation message", relation_id));
  }
  return &it->second;
}

void ChangeAssembler::CheckArity(const Relation& rel, const TupleData& tuple) {
  if (tuple.size() != rel.type_oids.size()) {
    throw DataError(codes::kPgoutputProtocol,
                    fmt::format("{}: tuple has {} columns, relation has {}", rel.table.ToString(),
                                tuple.size(), rel.type_oids.size()));
  }
}

Value ChangeAssembler::ToValue(const Relation& rel, const TupleData& tuple, std::size_t i) {
  switch (tuple[i].kind) {
    case TupleColumn::Kind::Null:
      return Value();
    case TupleColumn::Kind::UnchangedToast:
      return Value::Unchanged();  // lesson 4: kept by the target
    case TupleColumn::Kind::Text:
      return TextToValue(rel.value_types[i], tuple[i].data);
    case TupleColumn::Kind::Binary:
      break;
  }
  if (rel.binary_types.empty()) {
    throw DataError(codes::kPgoutputProtocol,
                    fmt::format("{}: binary tuple data although binary was not requested",
                                rel.table.ToString()));
  }
  return BinaryColumnValue(rel.binary_types[i], tuple[i].data, rel.table, (*rel.names)[i]);
}

Row ChangeAssembler::ToRow(const Relation& rel, const TupleData& tuple) {
  CheckArity(rel, tuple);
  std::vector<Value> values;
  values.reserve(tuple.size());
  for (std::size_t i = 0; i < tuple.size(); ++i) values.push_back(ToValue(rel, tuple, i));
  return Row(rel.names, std::move(values));
}

Row ChangeAssembler::KeyRow(const Relation& rel, const TupleData& tuple) {
  // Only the key columns are converted: the others of a 'K' tuple are nulls anyway.
  CheckArity(rel, tuple);
  std::vector<Value> values;
  values.reserve(rel.key_count);
  for (std::size_t i = 0; i < rel.key.size(); ++i) {
    if (rel.key[i]) values.push_back(ToValue(rel, tuple, i));
  }
  return Row(rel.key_names, std::move(values));
}

Row ChangeAssembler::KeyOf(const Relation& rel, const Row& row) {
  // The identity of an update that kept its key: copied from the new row, not parsed again.
  std::vector<Value> values;
  values.reserve(rel.key_count);
  for (std::size_t i = 0; i < rel.key.size(); ++i) {
    if (rel.key[i]) values.push_back(row.value(i));
  }
  return Row(rel.key_names, std::move(values));
}

void ChangeAssembler::OnRelation(const RelationMessage& m, ChangeHandler& handler) {
  Relation rel;
  rel.table = Table(m.namespace_name, m.relation_name);
  std::vector<std::string> names;
  std::vector<std::string> key_names;
  for (const auto& c : m.columns) {
    names.push_back(c.name);
    rel.type_oids.push_back(c.type_oid);
    rel.value_types.push_back(value_type_ ? value_type_(c.type_oid) : c.type_oid);
    rel.key.push_back(c.key);
    if (c.key) key_names.push_back(c.name);
  }
  rel.key_count = key_names.size();
  rel.names = ColumnNames::Make(std::move(names));
  rel.key_names = ColumnNames::Make(std::move(key_names));
  auto known = columns_.find(rel.table);
  rel.wanted = known != columns_.end();
  if (rel.wanted && binary_type_) {
    for (const auto& c : m.columns) {
      rel.binary_types.push_back(binary_type_(c.type_oid));
      if (rel.binary_types.back().kind == BinaryType::Kind::None) {
        throw BinaryUnavailable(fmt::format(
            "{} column {} has type {}, which binary mode cannot decode: streaming it in text mode",
            rel.table.ToString(), c.name, c.type_oid));
      }
    }
  }
  if (rel.wanted) {
    const auto& old = known->second;
    bool same = old.size() == m.columns.size();
    for (std::size_t i = 0; same && i < old.size(); ++i) {
      same = old[i].name == m.columns[i].name && old[i].type_oid == m.columns[i].type_oid &&
             old[i].type_modifier == m.columns[i].type_modifier;
    }
    if (!same) {
      std::vector<ColumnDefinition> now;
      int pk_ordinal = 0;
      for (std::size_t i = 0; i < m.columns.size(); ++i) {
        const auto& c = m.columns[i];
        ColumnDefinition d{.name = c.name,
                           .type = TypeName(c.type_oid),
                           .ordinal_position = static_cast<int>(i + 1),
                           .type_oid = c.type_oid,
                           .type_modifier = c.type_modifier};
        const ColumnDefinition* before = nullptr;
        for (const auto& o : old) {
          if (o.name == c.name) before = &o;
        }
        if (before != nullptr && before->type_oid == c.type_oid) {
          d.type = before->type;
          d.nullable = before->nullable;
          d.default_value = before->default_value;
        }
        // Under REPLICA IDENTITY FULL every column is flagged as key: not a primary key.
        const bool key =
            before != nullptr ? before->primary_key : (c.key && m.replica_identity != 'f');
        if (key) {
          d.primary_key = true;
          d.primary_key_ordinal = ++pk_ordinal;
        }
        now.push_back(std::move(d));
      }
      Dispatch(handler);  // changes before the Relation message keep the old columns
      Flush(handler);
      if (on_added_column_) {
        for (const auto& c : m.columns) {
          const bool added = std::none_of(
              old.begin(), old.end(), [&](const ColumnDefinition& o) { return o.name == c.name; });
          if (added) on_added_column_(rel.table, c.name);
        }
      }
      handler.OnSchemaChange(rel.table, now);
      // Known only once the handler took it: if the call throws, the next connection's Relation
      // message reports the change again.
      known->second = std::move(now);
    }
  }
  relations_[m.relation_id] = std::move(rel);
}

ChangeEvent ChangeAssembler::NewEvent(const Relation& rel, ChangeAction action) {
  ChangeEvent e;
  e.table = rel.table;
  e.action = action;
  e.position = StreamPosition{.commit_lsn = commit_lsn_, .index = index_, .ack_lsn = previous_end_};
  e.timestamp = std::chrono::system_clock::now();
  e.commit_time = commit_time_;
  e.transaction_id = xid_;
  return e;
}

void ChangeAssembler::Queue(ChangeEvent event, ChangeHandler& handler) {
  Dispatch(handler);  // the held change was not the last of its transaction
  held_ = std::move(event);
}

void ChangeAssembler::Dispatch(ChangeHandler& handler) {
  if (held_) DispatchHeld(handler);
  if (!pending_messages_.empty()) {
    Flush(handler);  // the changes before the messages are the handler's now
    for (const auto& m : pending_messages_) Deliver(m);
    pending_messages_.clear();
  }
}

void ChangeAssembler::DispatchHeld(ChangeHandler& handler) {
  const auto& position = std::any_cast<const StreamPosition&>(held_->position);
  if (StreamPosition::Compare(position, skip_through_) <= 0) {  // delivered before
    held_.reset();
    return;
  }
  // Assigned over a spent event the handler gave back: its storage is freed here.
  if (out_count_ < out_.size()) {
    out_[out_count_] = std::move(*held_);
  } else {
    out_.push_back(std::move(*held_));
  }
  ++out_count_;
  held_.reset();
  // Within what the handler takes all or nothing, so a failed call delivered none of its changes.
  if (out_count_ >= std::min(kMaxOut, std::max<std::size_t>(handler.MaxBatch(), 1))) {
    Flush(handler);
  }
}

void ChangeAssembler::Flush(ChangeHandler& handler) {
  if (out_count_ == 0) return;
  // Read before the call: the handler may swap the events out.
  const StreamPosition delivered =
      std::any_cast<const StreamPosition&>(out_[out_count_ - 1].position);
  const std::size_t n = std::exchange(out_count_, 0);
  handler.OnChanges(std::span<ChangeEvent>(out_.data(), n));
  // Counted only now: a call that an exception abandoned (a status update failing while the
  // engine blocked on backpressure) did not deliver its changes, and a reconnect resumes from
  // the last batch that was.
  last_delivered_ = delivered;
}

void ChangeAssembler::Handle(const PgoutputMessage& message, ChangeHandler& handler) {
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, BeginMessage>) {
          in_transaction_ = true;
          commit_lsn_ = m.final_lsn;
          index_ = 0;
          xid_ = m.xid;
          commit_time_ = CommitTime(m.commit_time);
        } else if constexpr (std::is_same_v<M, CommitMessage>) {
          if (held_) {
            std::any_cast<StreamPosition&>(held_->position).ack_lsn = m.end_lsn;
            held_->ends_transaction = true;
            Dispatch(handler);
          }
          previous_end_ = m.end_lsn;
          in_transaction_ = false;
          last_commit_time_ = CommitTime(m.commit_time);
        } else if constexpr (std::is_same_v<M, RelationMessage>) {
          OnRelation(m, handler);
        } else if constexpr (std::is_same_v<M, InsertMessage>) {
          const auto* rel = Find(m.relation_id);
          ++index_;  // counted even when not emitted, so indexes match across reconnects
          if (!rel->wanted) return;
          ChangeEvent e = NewEvent(*rel, ChangeAction::Insert);
          e.new_values = ToRow(*rel, m.new_tuple);
          Queue(std::move(e), handler);
        } else if constexpr (std::is_same_v<M, UpdateMessage>) {
          const auto* rel = Find(m.relation_id);
          ++index_;
          if (!rel->wanted) return;
          ChangeEvent e = NewEvent(*rel, ChangeAction::Update);
          e.new_values = ToRow(*rel, m.new_tuple);
          if (m.old_kind == OldTuple::Full) {
            e.old_values = ToRow(*rel, m.old_tuple);
          } else if (m.old_kind == OldTuple::Key) {
            e.old_values = KeyRow(*rel, m.old_tuple);  // the key changed
          } else {
            e.old_values = KeyOf(*rel, e.new_values);
          }
          Queue(std::move(e), handler);
        } else if constexpr (std::is_same_v<M, DeleteMessage>) {
          const auto* rel = Find(m.relation_id);
          ++index_;
          if (!rel->wanted) return;
          ChangeEvent e = NewEvent(*rel, ChangeAction::Delete);
          e.old_values =
              m.old_kind == OldTuple::Full ? ToRow(*rel, m.old_tuple) : KeyRow(*rel, m.old_tuple);
          Queue(std::move(e), handler);
        } else if constexpr (std::is_same_v<M, TruncateMessage>) {
          for (const auto id : m.relation_ids) {
            const auto* rel = Find(id);
            ++index_;
            if (!rel->wanted) continue;
            Queue(NewEvent(*rel, ChangeAction::Truncate), handler);
          }
        } else if constexpr (std::is_same_v<M, StreamStartMessage> ||
                             std::is_same_v<M, StreamStopMessage> ||
                             std::is_same_v<M, StreamCommitMessage> ||
                             std::is_same_v<M, StreamAbortMessage>) {
          throw DataError(codes::kPgoutputProtocol,
                          "streamed-transaction message although protocol version 1 was asked");
        } else if constexpr (std::is_same_v<M, LogicalDecodingMessage>) {
          OnLogicalMessage(m, handler);
        }
        // Origin and Type messages carry nothing to apply.
      },
      message);
}

}  // namespace laredo::pg
