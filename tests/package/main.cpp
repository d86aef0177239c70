// Uses one public type of each component, so both libraries are linked and their headers compile
// without libpq, Boost, OpenSSL or nlohmann headers.
#include <laredo/kinesis/position.hpp>
#include <laredo/laredo.hpp>
#include <laredo/pg/lsn.hpp>

#include <cstdio>

int main() {
  const auto lsn = laredo::pg::Lsn::Parse("16/B374D848");
  const auto position = laredo::kinesis::StreamPosition::Parse(
      laredo::kinesis::StreamPosition{.snapshot_id = "s1", .shards = {}}.ToString());
  std::printf("components: pg %s, kinesis %s\n", lsn.ToString().c_str(),
              position.ToString().c_str());
  return lsn.ToString() == "16/B374D848" && position.snapshot_id == "s1" ? 0 : 1;
}
