#include "gzip_lines.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "laredo/error.hpp"

namespace laredo::kinesis {
namespace {

// gzip-compresses `data` with zlib (one member), as a producer's `gzip` would.
std::string Gzip(std::string_view data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));  // NOLINT
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());  // NOLINT
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Collected {
  std::vector<std::string> lines;
  std::vector<std::uint64_t> numbers;
  LineReader::LineCallback Callback() {
    return [this](std::string_view line, std::uint64_t n) {
      lines.emplace_back(line);
      numbers.push_back(n);
    };
  }
};

std::vector<std::string> ReadAll(Compression compression, std::string_view data,
                                 std::size_t chunk) {
  LineReader reader(compression);
  Collected out;
  const auto cb = out.Callback();
  for (std::size_t i = 0; i < data.size(); i += chunk) reader.Feed(data.substr(i, chunk), cb);
  reader.Finish(cb);
  return out.lines;
}

std::string SampleJsonl(int rows) {
  std::string text;
  for (int i = 0; i < rows; ++i) {
    text += R"({"id": )" + std::to_string(i) + R"(, "name": "user-)" + std::to_string(i * 7919) +
            R"(", "note": ")" + std::string(static_cast<std::size_t>(i % 50), 'x') + "\"}\n";
  }
  return text;
}

std::vector<std::string> LinesOf(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

void ExpectBadObject(const std::function<void()>& f, std::string_view fragment) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(e.code(), "bad_object");
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(LineReader, SplitsPlainTextAcrossAnyChunking) {
  const std::string text = "a\r\nbb\n\nccc\nlast-without-newline";
  const std::vector<std::string> expected{"a", "bb", "", "ccc", "last-without-newline"};
  for (std::size_t chunk : {1U, 2U, 3U, 5U, 100U}) {
    EXPECT_EQ(ReadAll(Compression::None, text, chunk), expected) << chunk;
  }
}

TEST(LineReader, NumbersLinesFromOne) {
  LineReader reader(Compression::None);
  Collected out;
  reader.Feed("x\ny\n", out.Callback());
  reader.Finish(out.Callback());
  EXPECT_EQ(out.numbers, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(reader.lines(), 2U);
}

TEST(LineReader, InflatesGzipInAnyChunking) {
  const std::string text = SampleJsonl(20000);  // about 1.5 MB: many inflate windows
  const std::string gz = Gzip(text);
  ASSERT_LT(gz.size(), text.size() / 4);
  const auto expected = LinesOf(text);
  for (const std::size_t chunk : std::vector<std::size_t>{1, 7, 4096, 65536, gz.size()}) {
    EXPECT_EQ(ReadAll(Compression::Gzip, gz, chunk), expected) << chunk;
  }
  EXPECT_EQ(ReadAll(Compression::Gzip, Gzip("one\ntwo\n"), 1),
            (std::vector<std::string>{"one", "two"}));
}

TEST(LineReader, DeliversLinesWhileDataArrives) {
  const std::string gz = Gzip(SampleJsonl(5000));
  LineReader reader(Compression::Gzip);
  Collected out;
  reader.Feed(std::string_view(gz).substr(0, gz.size() / 2), out.Callback());
  EXPECT_GT(out.lines.size(), 1000U);  // streaming: no waiting for the whole object
  reader.Feed(std::string_view(gz).substr(gz.size() / 2), out.Callback());
  reader.Finish(out.Callback());
  EXPECT_EQ(out.lines.size(), 5000U);
}

TEST(LineReader, ReadsConcatenatedGzipMembers) {
  const std::string gz = Gzip("a\nb\n") + Gzip("c\n") + Gzip("");
  EXPECT_EQ(ReadAll(Compression::Gzip, gz, 3), (std::vector<std::string>{"a", "b", "c"}));
  // A line may even span two members.
  EXPECT_EQ(ReadAll(Compression::Gzip, Gzip("he") + Gzip("llo\n"), 100),
            (std::vector<std::string>{"hello"}));
}

TEST(LineReader, EmptyContentIsNoLines) {
  EXPECT_TRUE(ReadAll(Compression::Gzip, Gzip(""), 10).empty());
  EXPECT_TRUE(ReadAll(Compression::None, "", 10).empty());
}

TEST(LineReader, TruncatedGzipIsAnError) {
  const std::string gz = Gzip(SampleJsonl(100));
  ExpectBadObject([&] { ReadAll(Compression::Gzip, gz.substr(0, gz.size() - 5), 64); },
                  "gzip data ends early");
  ExpectBadObject([&] { ReadAll(Compression::Gzip, "", 64); }, "empty object is not gzip");
}

TEST(LineReader, CorruptGzipIsAnError) {
  std::string gz = Gzip(SampleJsonl(100));
  gz[0] = 'X';  // bad magic
  ExpectBadObject([&] { ReadAll(Compression::Gzip, gz, 64); }, "corrupt gzip data");
  std::string body = Gzip(SampleJsonl(100));
  for (std::size_t i = 20; i < 40; ++i) body[i] = static_cast<char>(~body[i]);
  ExpectBadObject([&] { ReadAll(Compression::Gzip, body, 64); }, "gzip");
  ExpectBadObject([&] { ReadAll(Compression::Gzip, Gzip("a\n") + "trailing junk", 64); },
                  "corrupt gzip data");
}

TEST(LineReader, OverlongLineIsAnError) {
  LineReader reader(Compression::None, 10);
  Collected out;
  reader.Feed("0123456789\n", out.Callback());  // exactly the limit is fine
  ExpectBadObject([&] { reader.Feed("0123456789A", out.Callback()); }, "line 2 is longer than 10");
  LineReader whole(Compression::None, 10);
  ExpectBadObject([&] { whole.Feed("0123456789AB\n", out.Callback()); }, "longer than 10");
}

TEST(LineReader, FeedAfterFinishIsALogicError) {
  LineReader reader(Compression::None);
  Collected out;
  reader.Finish(out.Callback());
  EXPECT_THROW(reader.Feed("x", out.Callback()), std::logic_error);
}

TEST(LineReader, CompressionFollowsTheKey) {
  EXPECT_EQ(CompressionForKey("public.users/part-00000.jsonl.gz"), Compression::Gzip);
  EXPECT_EQ(CompressionForKey("public.users/part-00000.jsonl"), Compression::None);
}

}  // namespace
}  // namespace laredo::kinesis
