// Resident bytes per row of the indexed in-memory target holding 1,000,000 rows of the benchmark
// table. Prints one line per figure. The encoded rows alone take about 122 bytes each (1 byte of
// kinds, id 3, a 2, b 1 + 100, c 5, d 1 + 9); slot table and primary index add about 19.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "bench_rows.hpp"
#include "laredo/laredo.hpp"

namespace {

std::size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages_total = 0;
  std::size_t pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t rows_wanted = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  const auto table = laredo::Table("public", "bench");
  const laredo::bench::BenchRows rows;
  laredo::memory::IndexedTarget target;
  target.OnInit(table, laredo::bench::BenchColumns());
  malloc_trim(0);
  const std::size_t before = ResidentBytes();
  for (std::int64_t i = 0; i < rows_wanted; ++i) target.OnBaselineRow(table, rows.Make(i));
  malloc_trim(0);
  const std::size_t after = ResidentBytes();
  const double per_row = static_cast<double>(after - before) / static_cast<double>(rows_wanted);
  const double accounted =
      static_cast<double>(target.MemoryUsage()) / static_cast<double>(rows_wanted);
  std::printf("rows: %lld\n", static_cast<long long>(target.Count()));
  std::printf("resident bytes per row: %.1f\n", per_row);
  std::printf("accounted bytes per row (data + indexes, no allocator overhead): %.1f\n", accounted);
  const auto sample = target.Get({laredo::Value(std::int64_t{12345})});
  if (!sample || !(*sample == rows.Make(12345))) {
    std::fprintf(stderr, "row 12345 did not round-trip\n");
    return 1;
  }
  return 0;
}
