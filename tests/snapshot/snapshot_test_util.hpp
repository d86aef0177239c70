#pragma once

// What the snapshot tests share: byte sinks and sources over strings, a temporary directory,
// the columns and rows of a table that holds every value kind.
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "laredo/snapshot/streams.hpp"
#include "laredo/snapshot/table_file.hpp"

namespace laredo::snapshot::testing {

class StringSink final : public ByteSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void Write(std::string_view bytes) override { out_.append(bytes); }
  void Close() override { closed_ = true; }
  bool closed_ = false;

 private:
  std::string& out_;
};

/// Hands out its bytes in pieces of `chunk`, to exercise the reader's buffering.
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string bytes, std::size_t chunk = 4096)
      : bytes_(std::move(bytes)), chunk_(chunk) {}
  std::size_t Read(char* out, std::size_t size) override {
    const std::size_t n = std::min({size, chunk_, bytes_.size() - pos_});
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
};

/// A fresh directory under the system's temporary one, removed at the end.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::temp_directory_path() /
        ("laredo-snapshot-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const TableIdentifier kKinds = Table("public", "kinds");

/// id bigint key plus one column per value kind.
inline std::vector<ColumnDefinition> KindColumns() {
  std::vector<ColumnDefinition> columns = {{.name = "id",
                                            .type = "bigint",
                                            .nullable = false,
                                            .ordinal_position = 1,
                                            .primary_key = true,
                                            .primary_key_ordinal = 1,
                                            .type_oid = 20}};
  const char* names[] = {"n", "b", "i", "d", "t", "y", "num", "j", "u", "dt", "tm", "ts", "tz"};
  int ordinal = 2;
  for (const char* name : names) {
    columns.push_back(
        {.name = name, .type = "t_" + std::string(name), .ordinal_position = ordinal++});
  }
  columns.back().default_value = "now()";
  columns.back().type_modifier = 6;
  return columns;
}

/// Row `id`: every kind, with edge values chosen by `id`.
inline Row KindRow(std::int64_t id) {
  const auto pick = [&](auto... options) {
    const std::vector<std::common_type_t<decltype(options)...>> v{options...};
    return v[static_cast<std::size_t>(id) % v.size()];
  };
  std::string bytes("\0\x01\xff\x80 raw", 8);
  bytes += std::to_string(id);
  return Row{
      {"id", id},
      {"n", nullptr},
      {"b", id % 2 == 0},
      {"i", pick(std::numeric_limits<std::int64_t>::min(), std::int64_t{-1}, std::int64_t{0},
                 std::numeric_limits<std::int64_t>::max(), id * 1'000'003)},
      {"d", pick(0.0, -0.0, 1.5, std::numeric_limits<double>::quiet_NaN(),
                 std::numeric_limits<double>::infinity(), -1e308, 5e-324)},
      {"t",
       pick(std::string(), std::string("ada"), std::string("ünïcødé ✓"), std::string(300, 'x'))},
      {"y", Value::Bytes(bytes)},
      {"num",
       Value::Numeric(pick(std::string("12.50"), std::string("NaN"), std::string("-0.000001")))},
      {"j", Value::Json(R"({"a": [1, 2, {"b": null}], "id": )" + std::to_string(id) + "}")},
      {"u", Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd38" + std::to_string(1000 + id % 9000))},
      {"dt", Value::Date(pick(std::int64_t{0}, std::int64_t{19'844}, std::int64_t{-719'162},
                              std::int64_t{std::numeric_limits<std::int32_t>::max()}))},
      {"tm", Value::Time(pick(std::int64_t{0}, std::int64_t{86'399'999'999}))},
      {"ts", Value::Timestamp(pick(std::int64_t{1'714'564'800'000'001}, std::int64_t{-1}))},
      {"tz", Value::TimestampTz(1'714'564'800'000'000 + id)}};
}

/// A table file of `rows` KindRows, in small blocks so that it has many.
inline std::string KindFile(int rows, std::size_t block_bytes = 512) {
  std::string bytes;
  TableFileWriter writer(std::make_unique<StringSink>(bytes), kKinds, KindColumns(),
                         {.block_bytes = block_bytes});
  for (int i = 0; i < rows; ++i) writer.Write(KindRow(i));
  writer.Finish();
  return bytes;
}

/// Every row of a table file.
inline std::vector<Row> ReadAll(const std::string& bytes, std::size_t chunk = 4096) {
  TableFileReader reader(std::make_unique<StringSource>(bytes, chunk), "test.lrt");
  std::vector<Row> rows;
  Row row;
  while (reader.Next(row)) rows.push_back(row);
  return rows;
}

}  // namespace laredo::snapshot::testing
