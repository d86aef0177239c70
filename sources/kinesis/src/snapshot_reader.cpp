#include "snapshot_reader.hpp"

#include <fmt/format.h>

#include <exception>
#include <thread>
#include <utility>

#include "gzip_lines.hpp"
#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"
#include "shared/handoff_queue.hpp"

namespace laredo::kinesis {
namespace {

// Thrown from inside an object's body callback to abandon the response when reading stops.
struct ReadingStopped {};

// Rows of one table, parsed ahead of delivery. 1024 rows of ~176 bytes: large enough that the
// queue's lock is taken rarely, small enough that a few in flight stay a few MB.
constexpr std::size_t kBatchRows = 1024;
constexpr std::size_t kBatchesAhead = 8;

struct Batch {
  const TableIdentifier* table = nullptr;
  std::vector<Row> rows;
};
using Queue = shared::HandoffQueue<Batch>;

class Reader {
 public:
  Reader(aws::S3Client& s3, const contract::Decoder& decoder, const SnapshotLocation& location,
         Queue& queue, std::stop_token stop)
      : s3_(s3), decoder_(decoder), location_(location), queue_(queue), stop_(std::move(stop)) {}

  void Read(const contract::Manifest& manifest, const std::vector<TableIdentifier>& tables) {
    for (const auto& table : tables) {
      const auto it = manifest.tables.find(table);
      if (it == manifest.tables.end()) continue;
      batch_.table = &table;
      for (const auto& object : it->second.objects) {
        // An entry ending in '/' names every object under it, in key order.
        std::vector<std::string> keys;
        if (object.ends_with('/')) {
          keys = s3_.ListAllObjects(location_.bucket, location_.prefix + object,
                                    location_.list_page_size);
        } else {
          keys.push_back(location_.prefix + object);
        }
        for (const auto& key : keys) {
          if (stop_.stop_requested()) throw ReadingStopped{};
          ReadObject(table, key);
        }
      }
      Flush();
    }
  }

 private:
  void ReadObject(const TableIdentifier& table, const std::string& key) {
    LineReader reader(CompressionForKey(key));
    const auto on_line = [&](std::string_view line, std::uint64_t line_number) {
      if (stop_.stop_requested()) throw ReadingStopped{};
      if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank lines
      try {
        batch_.rows.push_back(decoder_.DecodeRow(table, line));
      } catch (const DataError& e) {
        throw DataError(e.code(), fmt::format("s3://{}/{} line {}: {}", location_.bucket, key,
                                              line_number, e.what()));
      }
      if (batch_.rows.size() == kBatchRows) Flush();
    };
    try {
      s3_.GetObject(location_.bucket, key,
                    [&](std::string_view chunk) { reader.Feed(chunk, on_line); });
      reader.Finish(on_line);
    } catch (const DataError& e) {
      if (e.code() == codes::kBadObject) {
        throw DataError(e.code(), fmt::format("s3://{}/{}: {}", location_.bucket, key, e.what()));
      }
      throw;
    }
  }

  void Flush() {
    if (batch_.rows.empty()) return;
    const TableIdentifier* table = batch_.table;
    if (!queue_.Push(std::exchange(batch_, Batch{}))) throw ReadingStopped{};
    batch_.table = table;
    batch_.rows.reserve(kBatchRows);
  }

  aws::S3Client& s3_;
  const contract::Decoder& decoder_;
  const SnapshotLocation& location_;
  Queue& queue_;
  std::stop_token stop_;
  Batch batch_;
};

}  // namespace

bool ReadSnapshot(std::stop_token stop, aws::S3Client& s3, const contract::Decoder& decoder,
                  const contract::Manifest& manifest, const std::vector<TableIdentifier>& tables,
                  const SnapshotLocation& location, const RowCallback& on_row) {
  Queue queue(kBatchesAhead);
  queue.AddProducer();
  std::stop_source abort;
  const std::stop_callback forward(stop, [&] { abort.request_stop(); });
  std::jthread reader([&] {
    std::exception_ptr error;
    try {
      Reader(s3, decoder, location, queue, abort.get_token()).Read(manifest, tables);
    } catch (const ReadingStopped&) {
    } catch (...) {
      error = std::current_exception();
    }
    queue.ProducerDone(std::move(error));
  });
  // Runs first on every way out (also when `on_row` throws): a reader blocked on the full queue
  // wakes and stops, and is joined before the queue it uses goes away.
  struct Leave {
    std::stop_source& abort;
    Queue& queue;
    std::jthread& reader;
    ~Leave() {
      abort.request_stop();
      queue.Close();
      if (reader.joinable()) reader.join();
    }
  } leave{abort, queue, reader};

  Batch batch;
  while (queue.Pop(batch, stop)) {
    for (auto& row : batch.rows) {
      if (stop.stop_requested()) return false;
      on_row(*batch.table, std::move(row));
    }
  }
  if (stop.stop_requested()) return false;
  if (auto error = queue.error()) std::rethrow_exception(error);
  return true;
}

}  // namespace laredo::kinesis
