#include "snapshot_reader.hpp"

#include <fmt/format.h>

#include <exception>
#include <optional>
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

// Response bytes are gathered into pieces of about 256 KiB: the queue's lock is taken a few
// hundred times per 100 MB, and 8 pieces ahead stay 2 MB.
constexpr std::size_t kPieceBytes = std::size_t{256} * 1024;
constexpr std::size_t kPiecesAhead = 8;

// One step of the download: the start of an object, a piece of its body, or its end.
struct Piece {
  const TableIdentifier* table = nullptr;
  std::string key;    // set on the first piece of an object
  std::string bytes;  // body bytes, in order
  bool ends_object = false;
};
using Queue = shared::HandoffQueue<Piece>;

// Runs on the reader thread: lists and downloads, nothing else. Rows are parsed on the
// delivering thread, so every allocation of a row happens on the thread that hands it on (rows
// built on one thread and freed on another made glibc's malloc contend on its arena locks:
// parsing on the reader thread was 25% slower than on the source thread alone).
void Download(aws::S3Client& s3, const contract::Manifest& manifest,
              const std::vector<TableIdentifier>& tables, const SnapshotLocation& location,
              Queue& queue, const std::stop_token& stop) {
  const auto push = [&](Piece piece) {
    if (!queue.Push(std::move(piece))) throw ReadingStopped{};
  };
  for (const auto& table : tables) {
    const auto it = manifest.tables.find(table);
    if (it == manifest.tables.end()) continue;
    for (const auto& object : it->second.objects) {
      // An entry ending in '/' names every object under it, in key order.
      std::vector<std::string> keys;
      if (object.ends_with('/')) {
        keys =
            s3.ListAllObjects(location.bucket, location.prefix + object, location.list_page_size);
      } else {
        keys.push_back(location.prefix + object);
      }
      for (const auto& key : keys) {
        if (stop.stop_requested()) throw ReadingStopped{};
        Piece piece{.table = &table, .key = key, .bytes = {}, .ends_object = false};
        piece.bytes.reserve(kPieceBytes);
        s3.GetObject(location.bucket, key, [&](std::string_view chunk) {
          if (stop.stop_requested()) throw ReadingStopped{};
          piece.bytes.append(chunk);
          if (piece.bytes.size() >= kPieceBytes) {
            push(std::exchange(
                piece, Piece{.table = &table, .key = {}, .bytes = {}, .ends_object = false}));
            piece.bytes.reserve(kPieceBytes);
          }
        });
        piece.ends_object = true;
        push(std::move(piece));
      }
    }
  }
}

// Runs on the delivering thread: lines, rows, `on_row`.
class Parser {
 public:
  Parser(const contract::Decoder& decoder, const SnapshotLocation& location,
         const RowCallback& on_row, const std::stop_token& stop)
      : decoder_(decoder), location_(location), on_row_(on_row), stop_(stop) {}

  /// False when `stop` was requested.
  bool Take(Piece& piece) {
    if (!piece.key.empty()) {
      key_ = std::move(piece.key);
      table_ = piece.table;
      reader_.emplace(CompressionForKey(key_));
    }
    const auto on_line = [&](std::string_view line, std::uint64_t line_number) {
      if (stop_.stop_requested()) throw ReadingStopped{};
      if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank lines
      Row row;
      try {
        row = decoder_.DecodeRow(*table_, line);
      } catch (const DataError& e) {
        throw DataError(e.code(), fmt::format("s3://{}/{} line {}: {}", location_.bucket, key_,
                                              line_number, e.what()));
      }
      on_row_(*table_, std::move(row));
    };
    try {
      reader_->Feed(piece.bytes, on_line);
      if (piece.ends_object) reader_->Finish(on_line);
    } catch (const ReadingStopped&) {
      return false;
    } catch (const DataError& e) {
      if (e.code() == codes::kBadObject) {
        throw DataError(e.code(), fmt::format("s3://{}/{}: {}", location_.bucket, key_, e.what()));
      }
      throw;
    }
    return true;
  }

 private:
  const contract::Decoder& decoder_;
  const SnapshotLocation& location_;
  const RowCallback& on_row_;
  const std::stop_token& stop_;
  std::string key_;
  const TableIdentifier* table_ = nullptr;
  std::optional<LineReader> reader_;
};

}  // namespace

bool ReadSnapshot(std::stop_token stop, aws::S3Client& s3, const contract::Decoder& decoder,
                  const contract::Manifest& manifest, const std::vector<TableIdentifier>& tables,
                  const SnapshotLocation& location, const RowCallback& on_row) {
  Queue queue(kPiecesAhead);
  queue.AddProducer();
  std::stop_source abort;
  const std::stop_callback forward(stop, [&] { abort.request_stop(); });
  std::jthread reader([&] {
    std::exception_ptr error;
    try {
      Download(s3, manifest, tables, location, queue, abort.get_token());
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

  Parser parser(decoder, location, on_row, stop);
  Piece piece;
  while (queue.Pop(piece, stop)) {
    if (!parser.Take(piece)) return false;
  }
  if (stop.stop_requested()) return false;
  if (auto error = queue.error()) std::rethrow_exception(error);
  return true;
}

}  // namespace laredo::kinesis
