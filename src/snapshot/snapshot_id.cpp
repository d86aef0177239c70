// Snapshot ids: the creation time first, so that ids sort as snapshots were made, and a random
// suffix, so that two processes never pick the same one.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <random>

#include "laredo/snapshot/metadata.hpp"

namespace laredo::snapshot {
namespace {

constexpr std::size_t kIdLength = 32;  // 20240501T120000.000001Z-3f2a9c1b

std::string Digits(std::int64_t v, int width) { return fmt::format("{:0{}}", v, width); }

}  // namespace

std::string NewSnapshotId() {
  using namespace std::chrono;
  static std::atomic<std::int64_t> last{0};
  std::int64_t micros = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  // Strictly increasing within the process, even when the clock stands still or steps back.
  std::int64_t previous = last.load();
  while (!last.compare_exchange_weak(previous, std::max(micros, previous + 1))) {
  }
  micros = std::max(micros, previous + 1);
  const sys_time<microseconds> t{microseconds{micros}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  thread_local std::mt19937 random{std::random_device{}()};
  return fmt::format("{}{}{}T{}{}{}.{}Z-{:08x}", Digits(int(ymd.year()), 4),
                     Digits(unsigned(ymd.month()), 2), Digits(unsigned(ymd.day()), 2),
                     Digits(hms.hours().count(), 2), Digits(hms.minutes().count(), 2),
                     Digits(hms.seconds().count(), 2), Digits(hms.subseconds().count(), 6),
                     static_cast<std::uint32_t>(random()));
}

bool IsSnapshotId(std::string_view text) {
  if (text.size() != kIdLength) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool ok = i == 8    ? c == 'T'
                    : i == 15 ? c == '.'
                    : i == 22 ? c == 'Z'
                    : i == 23 ? c == '-'
                    : i > 23  ? (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                              : c >= '0' && c <= '9';
    if (!ok) return false;
  }
  return true;
}

std::string CreatedAtOf(std::string_view id) {
  return fmt::format("{}-{}-{}T{}:{}:{}.{}Z", id.substr(0, 4), id.substr(4, 2), id.substr(6, 2),
                     id.substr(9, 2), id.substr(11, 2), id.substr(13, 2), id.substr(16, 6));
}

}  // namespace laredo::snapshot
