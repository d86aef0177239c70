// Publisher: the SyncTarget face of the Kinesis publisher. Encodes each change (record_encoder),
// queues its records with the sender (put_sender) and reports what Kinesis holds.
#include "laredo/kinesis/publisher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <set>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "laredo/logging.hpp"
#include "publisher_config.hpp"
#include "publisher_snapshots.hpp"
#include "record_encoder.hpp"

namespace laredo::kinesis {

struct Publisher::Impl {
  PublisherOptions options;
  std::unique_ptr<publish::PutSender> sender;
  // After the sender (it uses it), destroyed before it.
  std::unique_ptr<publish::Snapshotter> snapshots;
  // Guarded by mu: pipelines of different tables may call in turn from different threads.
  std::mutex mu;
  std::map<TableIdentifier, std::shared_ptr<const contract::RecordEncoder>> encoders;
  std::set<TableIdentifier> baselines_under_way;

  void SetColumns(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns) {
    auto encoder = std::make_shared<const contract::RecordEncoder>(
        table, columns, options.partition_by_table.contains(table));
    {
      std::lock_guard lk(mu);
      encoders[table] = std::move(encoder);
    }
    snapshots->SetColumns(table, columns);
  }

  std::shared_ptr<const contract::RecordEncoder> EncoderOf(const TableIdentifier& table) {
    std::lock_guard lk(mu);
    const auto it = encoders.find(table);
    if (it == encoders.end()) {
      throw FatalError(codes::kNotInitialized,
                       fmt::format("kinesis publisher: a change of {} before OnInit of that table",
                                   table.ToString()));
    }
    return it->second;
  }

  // Encodes and queues one change; throws what the engine must see for it.
  void Publish(const contract::RecordEncoder& encoder, const TargetChange& change,
               std::vector<contract::EncodedRecord>& records) {
    records.clear();
    encoder.Encode(change, records);
    for (const auto& record : records) {
      if (record.Bytes() > options.max_record_bytes) {
        throw DataError(
            codes::kRecordTooLarge,
            fmt::format("kinesis publisher: {} of {} at {} is a record of {} bytes (data {}, "
                        "partition key {}), over the limit of {} bytes per record",
                        laredo::ToString(change.action), encoder.TableName(),
                        change.PositionString(), record.Bytes(), record.data.size(),
                        record.partition_key.size(), options.max_record_bytes));
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + options.buffer_full_timeout;
    if (!sender->Enqueue(change.ticket, records, deadline)) {
      throw RetryableError(codes::kThrottled,
                           fmt::format("kinesis publisher {}: {} records wait to be written, for "
                                       "longer than {} ms",
                                       options.stream_name, sender->GetStats().records_unwritten,
                                       options.buffer_full_timeout.count()));
    }
  }
};

Publisher::Publisher(PublisherOptions options) : impl_(std::make_unique<Impl>()) {
  publish::ValidateOptions(options);
  impl_->options = std::move(options);
  impl_->sender = publish::MakeSender(impl_->options);
  impl_->snapshots = std::make_unique<publish::Snapshotter>(impl_->options, *impl_->sender);
}

Publisher::~Publisher() = default;

void Publisher::OnInit(const TableIdentifier& table, const std::vector<ColumnDefinition>& columns) {
  impl_->SetColumns(table, columns);
}

void Publisher::OnBaselineBegin(const TableIdentifier& table,
                                const std::vector<ColumnDefinition>& columns) {
  impl_->SetColumns(table, columns);
  impl_->snapshots->BeginBaseline(table);
  std::lock_guard lk(impl_->mu);
  impl_->baselines_under_way.insert(table);
}

void Publisher::OnBaselineRow(const TableIdentifier& table, const Row& row) {
  // Kept for snapshots; the change stream carries no baseline.
  impl_->snapshots->BaselineRow(table, row);
}

void Publisher::OnBaselineComplete(const TableIdentifier& table) {
  {
    std::lock_guard lk(impl_->mu);
    impl_->baselines_under_way.erase(table);
  }
  impl_->snapshots->CompleteBaseline(table);
}

void Publisher::OnInsert(const TableIdentifier& table, const Row& row) {
  const TargetChange change{.action = ChangeAction::Insert, .row = &row};
  OnChanges(table, {&change, 1});
}

void Publisher::OnUpdate(const TableIdentifier& table, const Row& new_row, const Row& identity) {
  const TargetChange change{.action = ChangeAction::Update, .row = &new_row, .identity = &identity};
  OnChanges(table, {&change, 1});
}

void Publisher::OnDelete(const TableIdentifier& table, const Row& identity) {
  const TargetChange change{.action = ChangeAction::Delete, .identity = &identity};
  OnChanges(table, {&change, 1});
}

void Publisher::OnTruncate(const TableIdentifier& table) {
  const TargetChange change{.action = ChangeAction::Truncate};
  OnChanges(table, {&change, 1});
}

void Publisher::OnChanges(const TableIdentifier& table, std::span<const TargetChange> changes) {
  impl_->sender->ThrowIfFailed();
  const auto encoder = impl_->EncoderOf(table);
  std::vector<contract::EncodedRecord> records;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    try {
      impl_->snapshots->Admit(table, changes[i],
                              [&] { impl_->Publish(*encoder, changes[i], records); });
    } catch (const std::exception& e) {
      if (changes.size() == 1) throw;
      // The changes before it are queued: the engine goes on from this one.
      throw PartialBatchError(i, std::current_exception(), e.what());
    }
  }
}

void Publisher::SetDurabilityReporter(DurabilityReporter* reporter) {
  if (reporter != nullptr) impl_->sender->AddReporter(reporter);
}

bool Publisher::IsDurable() { return impl_->sender->AllWritten(); }

bool Publisher::KeepsStateAcrossRestarts() {
  std::lock_guard lk(impl_->mu);
  return impl_->baselines_under_way.empty();
}

SchemaChangeResponse Publisher::OnSchemaChange(const TableIdentifier& table,
                                               const std::vector<ColumnDefinition>& old_columns,
                                               const std::vector<ColumnDefinition>& new_columns) {
  (void)old_columns;
  impl_->SetColumns(table, new_columns);
  return {};
}

void Publisher::OnClose(const TableIdentifier& table) {
  if (!impl_->sender->AwaitAllWritten(impl_->options.close_timeout)) {
    Logger()->warn(
        "kinesis publisher {}: closing {} with {} records not written; they are not "
        "acknowledged and a restart sends them again",
        impl_->options.stream_name, table.ToString(), impl_->sender->GetStats().records_unwritten);
  }
}

bool Publisher::Flush(std::chrono::milliseconds timeout) {
  return impl_->sender->AwaitAllWritten(timeout);
}

Publisher::Stats Publisher::GetStats() const {
  Stats stats = impl_->sender->GetStats();
  impl_->snapshots->AddStats(stats);
  return stats;
}

SnapshotReport Publisher::SnapshotNow() { return impl_->snapshots->TakeNow(); }

}  // namespace laredo::kinesis
