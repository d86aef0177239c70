// A real Prometheus server scrapes the endpoint and answers a query with the value we produced.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "http/http_test_util.hpp"
#include "http/server_fixture.hpp"

extern char** environ;  // NOLINT: POSIX

namespace laredo::testing {
namespace {

namespace fs = std::filesystem;

// A port nobody listens on right now (the OS's pick for a socket we close at once).
std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A prometheus process with its own config and storage in a temp dir; killed and reaped on
// destruction.
class PrometheusProcess {
 public:
  PrometheusProcess(const std::string& binary, std::uint16_t target_port)
      : dir_(fs::temp_directory_path() / ("laredo-prometheus-" + std::to_string(::getpid()))),
        port_(FreePort()) {
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
           "scrape_configs:\n  - job_name: laredo\n    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << target_port << "']\n";
    const std::vector<std::string> args{
        binary, "--config.file=" + (dir_ / "prometheus.yml").string(),
        "--storage.tsdb.path=" + (dir_ / "data").string(),
        "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const auto log = (dir_ / "prometheus.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    started_ = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) == 0;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~PrometheusProcess() {
    if (started_) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  [[nodiscard]] bool Started() const { return started_; }
  [[nodiscard]] std::uint16_t Port() const { return port_; }
  [[nodiscard]] std::string Log() const {
    std::ifstream in(dir_ / "prometheus.log");
    std::string text;
    for (std::string line; std::getline(in, line);) text += line + "\n";
    return text;
  }

 private:
  fs::path dir_;
  std::uint16_t port_;
  pid_t pid_ = 0;
  bool started_ = false;
};

// The value of the query's first result, as Prometheus's HTTP API returns it, or empty.
std::string QueryValue(std::uint16_t port, const std::string& query) {
  const auto result = Curl("--max-time 2 " + Url(port, "/api/v1/query?query=" + query));
  if (result.status != 200) return {};
  const auto doc = nlohmann::json::parse(result.body, nullptr, false);
  if (doc.is_discarded() || doc.value("status", "") != "success") return {};
  const auto& results = doc["data"]["result"];
  if (!results.is_array() || results.empty()) return {};
  return results[0]["value"][1].get<std::string>();
}

TEST(PrometheusScrape, PrometheusSeesTheAppliedChanges) {
  LAREDO_REQUIRE_TOOL(prometheus, "prometheus");
  LAREDO_REQUIRE_TOOL(curl, "curl");
  ServedEngine e;
  e.Start();
  ASSERT_TRUE(e.engine.AwaitReady(10s));
  std::uint64_t last = 0;
  for (int i = 1; i <= 7; ++i) last = e.source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(e.source->AwaitAck(last, 10s));

  PrometheusProcess server(prometheus, e.Port());
  ASSERT_TRUE(server.Started());
  // Prometheus starts, scrapes every second, and the sample becomes queryable.
  const bool seen = Eventually(
      [&] {
        return QueryValue(server.Port(),
                          "laredo_changes_applied_total%7Bpipeline%3D%22s%2Fpublic.users%22%7D") ==
               "7";
      },
      60s);
  EXPECT_TRUE(seen) << server.Log();
  // Prometheus judged the target healthy (it parsed the exposition without errors).
  EXPECT_EQ(QueryValue(server.Port(), "up%7Bjob%3D%22laredo%22%7D"), "1") << server.Log();
}

}  // namespace
}  // namespace laredo::testing
