// laredo publisher: one PostgreSQL slot -> a Kinesis stream of contract records plus periodic S3
// snapshots (docs/kinesis-publisher.md), for any number of `kinesis::Source` consumers.
//
// Configuration from flags or the environment (a flag wins):
//   --conninfo      LAREDO_PUB_CONNINFO     libpq connection string (required; never printed)
//   --tables        LAREDO_PUB_TABLES       schema.table,... (required)
//   --slot          LAREDO_PUB_SLOT         stateful replication slot name (required)
//   --stream        LAREDO_PUB_STREAM       Kinesis stream (required)
//   --bucket        LAREDO_PUB_BUCKET       S3 bucket of the snapshots (required)
//   --prefix        LAREDO_PUB_PREFIX       key prefix (default: the bucket's root)
//   --interval      LAREDO_PUB_INTERVAL     seconds between snapshots (default 3600)
//   --keep          LAREDO_PUB_KEEP         snapshots kept (default 2)
//   --kinesis-endpoint / --s3-endpoint      LAREDO_PUB_KINESIS_ENDPOINT / LAREDO_PUB_S3_ENDPOINT
//   --seconds       LAREDO_PUB_SECONDS      stop after this many seconds (default 0: on Ctrl-C)
// Region and credentials: AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (never printed).
//
// Exit codes: 0 stopped, 1 failed, 2 bad configuration (every problem listed).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <laredo/kinesis/publisher.hpp>
#include <laredo/laredo.hpp>
#include <laredo/pg/source.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

std::atomic<bool> interrupted{false};

extern "C" void OnSignal(int) { interrupted = true; }

struct Setting {
  const char* flag;
  const char* env;
};

const std::vector<Setting> kSettings = {
    {"--conninfo", "LAREDO_PUB_CONNINFO"},
    {"--tables", "LAREDO_PUB_TABLES"},
    {"--slot", "LAREDO_PUB_SLOT"},
    {"--stream", "LAREDO_PUB_STREAM"},
    {"--bucket", "LAREDO_PUB_BUCKET"},
    {"--prefix", "LAREDO_PUB_PREFIX"},
    {"--interval", "LAREDO_PUB_INTERVAL"},
    {"--keep", "LAREDO_PUB_KEEP"},
    {"--kinesis-endpoint", "LAREDO_PUB_KINESIS_ENDPOINT"},
    {"--s3-endpoint", "LAREDO_PUB_S3_ENDPOINT"},
    {"--seconds", "LAREDO_PUB_SECONDS"},
};

// flag -> value: the environment first, then the flags over it. Unknown flags are problems.
std::map<std::string, std::string> ReadSettings(int argc, char** argv,
                                                std::vector<std::string>& problems) {
  std::map<std::string, std::string> values;
  for (const auto& s : kSettings) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, before any thread starts
    if (const char* v = std::getenv(s.env); v != nullptr && *v != '\0') values[s.flag] = v;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      problems.push_back(arg + ": missing value");
      continue;
    }
    bool known = false;
    for (const auto& s : kSettings) known = known || arg == s.flag;
    if (!known) {
      problems.push_back("unknown option " + arg);
      continue;
    }
    values[arg] = value;
  }
  return values;
}

std::vector<laredo::TableIdentifier> ParseTables(const std::string& text,
                                                 std::vector<std::string>& problems) {
  std::vector<laredo::TableIdentifier> tables;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const auto comma = text.find(',', start);
    const std::string name = text.substr(start, comma - start);
    const auto dot = name.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) {
      problems.push_back("--tables: '" + name + "' is not schema.table");
    } else {
      tables.push_back(laredo::Table(name.substr(0, dot), name.substr(dot + 1)));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return tables;
}

long Number(const std::map<std::string, std::string>& values, const char* flag, long fallback,
            long min, std::vector<std::string>& problems) {
  const auto it = values.find(flag);
  if (it == values.end()) return fallback;
  char* end = nullptr;
  const long n = std::strtol(it->second.c_str(), &end, 10);
  if (end == it->second.c_str() || *end != '\0' || n < min) {
    problems.push_back(std::string(flag) + ": '" + it->second +
                       "' is not a whole number >= " + std::to_string(min));
    return fallback;
  }
  return n;
}

int Run(int argc, char** argv) {
  std::vector<std::string> problems;
  auto values = ReadSettings(argc, argv, problems);
  for (const char* required : {"--conninfo", "--tables", "--slot", "--stream", "--bucket"}) {
    if (!values.contains(required)) {
      problems.push_back(std::string(required) + " (or its environment variable) is required");
    }
  }
  const auto tables = ParseTables(values["--tables"], problems);
  const long interval = Number(values, "--interval", 3600, 1, problems);
  const long keep = Number(values, "--keep", 2, 1, problems);
  const long seconds = Number(values, "--seconds", 0, 0, problems);

  laredo::kinesis::PublisherOptions options;
  options.stream_name = values["--stream"];
  options.endpoint = values["--kinesis-endpoint"];
  options.snapshots.bucket = values["--bucket"];
  options.snapshots.prefix = values["--prefix"];
  options.snapshots.endpoint = values["--s3-endpoint"];
  options.snapshots.interval = std::chrono::seconds(interval);
  options.snapshots.keep = static_cast<std::size_t>(keep);
  options.snapshots.tables = {tables.begin(), tables.end()};
  std::shared_ptr<laredo::kinesis::Publisher> publisher;
  if (problems.empty()) {
    try {
      publisher = std::make_shared<laredo::kinesis::Publisher>(options);
    } catch (const laredo::ConfigError& e) {
      problems.emplace_back(e.what());  // names settings, never credential values
    }
  }
  if (!problems.empty()) {
    std::fprintf(stderr, "laredo publisher: bad configuration:\n");
    for (const auto& p : problems) std::fprintf(stderr, "  - %s\n", p.c_str());
    return 2;
  }

  laredo::pg::SourceOptions source_options;
  source_options.conninfo = values["--conninfo"];
  source_options.slot_mode = laredo::pg::SlotMode::Stateful;
  source_options.slot_name = values["--slot"];
  laredo::EngineOptions engine_options;
  engine_options.ack_interval = 200ms;
  laredo::Engine engine(engine_options);
  engine.AddSource("pg", std::make_shared<laredo::pg::Source>(source_options));
  for (const auto& table : tables) engine.AddPipeline("pg", table, publisher);

  std::printf("laredo publisher: slot %s -> stream %s, snapshots to s3://%s/%s every %ld s\n",
              source_options.slot_name.c_str(), options.stream_name.c_str(),
              options.snapshots.bucket.c_str(), options.snapshots.prefix.c_str(), interval);
  engine.Start();
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  while (!interrupted) {
    if (seconds > 0 && std::chrono::steady_clock::now() - start >= std::chrono::seconds(seconds)) {
      break;
    }
    if (const auto error = engine.SourceError("pg")) {
      std::fprintf(stderr, "laredo publisher: source failed: %s\n", error->c_str());
      engine.Stop();
      return 1;
    }
    if (std::chrono::steady_clock::now() - last_report >= 5s) {
      last_report = std::chrono::steady_clock::now();
      const auto stats = publisher->GetStats();
      std::printf(
          "written %llu records (%zu waiting); snapshots %llu (newest %s), failed %llu%s%s\n",
          static_cast<unsigned long long>(stats.records_written), stats.records_unwritten,
          static_cast<unsigned long long>(stats.snapshots_written),
          stats.last_snapshot_id.empty() ? "none" : stats.last_snapshot_id.c_str(),
          static_cast<unsigned long long>(stats.snapshot_failures),
          stats.last_snapshot_error.empty() ? "" : ": ", stats.last_snapshot_error.c_str());
      std::fflush(stdout);
    }
    std::this_thread::sleep_for(200ms);  // the progress loop's pace, not a synchronisation
  }
  engine.Stop();
  const auto stats = publisher->GetStats();
  std::printf("stopped: %llu records written, %llu snapshots\n",
              static_cast<unsigned long long>(stats.records_written),
              static_cast<unsigned long long>(stats.snapshots_written));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "laredo publisher: %s\n", e.what());
    return 1;
  }
}
