#pragma once

// Helpers shared by the end-to-end benchmark programs: clocks, arguments, medians and what this
// process used (CPU, resident memory).

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace laredo::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// One timed run of a consumer.
struct Timing {
  double seconds = 0;
  double cpu_seconds = 0;  // of the consumer process (for laredo: this process while it ran)
};

/// argv[index] as a positive count, or `fallback` when absent.
inline std::int64_t CountArg(int argc, char** argv, int index, std::int64_t fallback) {
  if (argc <= index) return fallback;
  const long long n = std::atoll(argv[index]);
  if (n <= 0) throw std::runtime_error(std::string("bad count: ") + argv[index]);
  return n;
}

/// The middle value (the upper one of an even count). `v` must not be empty.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// CPU seconds (user + system) of this process so far.
inline double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/// Resident set size of this process in bytes.
inline std::int64_t ResidentBytes() {
  long pages_total = 0;
  long pages_resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return static_cast<std::int64_t>(pages_resident) * sysconf(_SC_PAGESIZE);
}

/// The wall clock in nanoseconds: a latency measured across processes (a row carries its send
/// time) needs the clock both sides share.
inline std::int64_t RealtimeNanos() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// Percentiles of latency samples, in milliseconds.
struct LatencyLine {
  double p50 = 0;
  double p99 = 0;
};

/// Prints "label p50 .. ms, p99 .. ms, max .. ms (n samples)" for `nanos` and returns p50/p99.
inline LatencyLine PrintLatency(const char* label, std::vector<std::int64_t> nanos) {
  std::sort(nanos.begin(), nanos.end());
  const auto at = [&](double p) {
    if (nanos.empty()) return 0.0;
    const auto i = static_cast<std::size_t>(p * static_cast<double>(nanos.size() - 1));
    return static_cast<double>(nanos[i]) / 1e6;
  };
  const LatencyLine line{at(0.5), at(0.99)};
  std::printf("%s p50 %8.3f ms, p99 %8.3f ms, max %8.3f ms (%zu samples)\n", label, line.p50,
              line.p99, at(1.0), nanos.size());
  return line;
}

}  // namespace laredo::bench
