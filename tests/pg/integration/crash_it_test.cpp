// kill -9 of a consuming process with a durable target: after the restart every change after the
// last ACK is delivered again and none before it is lost (lesson 2).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "pg_harness.hpp"

namespace laredo::pg::testing {
namespace {

using laredo::testing::FastOptions;

// Appends one line per applied row ("b 7" baseline, "i 7" insert) to a file. A write() that
// returned survives the death of the process, so the target is durable once it applied a row.
class FileTarget final : public SyncTarget {
 public:
  explicit FileTarget(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)) {}
  ~FileTarget() override { ::close(fd_); }
  void OnInit(const TableIdentifier&, const std::vector<ColumnDefinition>&) override {}
  void OnBaselineRow(const TableIdentifier&, const Row& row) override { Write('b', row); }
  void OnBaselineComplete(const TableIdentifier&) override {}
  void OnInsert(const TableIdentifier&, const Row& row) override { Write('i', row); }
  void OnUpdate(const TableIdentifier&, const Row& row, const Row&) override { Write('u', row); }
  void OnDelete(const TableIdentifier&, const Row& row) override { Write('d', row); }
  void OnTruncate(const TableIdentifier&) override {}
  bool IsDurable() override { return true; }
  bool KeepsStateAcrossRestarts() override { return true; }
  SchemaChangeResponse OnSchemaChange(const TableIdentifier&, const std::vector<ColumnDefinition>&,
                                      const std::vector<ColumnDefinition>&) override {
    return {};
  }
  void OnClose(const TableIdentifier&) override {}

 private:
  void Write(char op, const Row& row) {
    const std::string line = std::string(1, op) + " " + row.at("id").ToString() + "\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
  }
  int fd_;
};

std::vector<std::pair<char, int>> ReadLines(const std::string& path) {
  std::vector<std::pair<char, int>> lines;
  std::ifstream in(path);
  char op = 0;
  int id = 0;
  while (in >> op >> id) lines.emplace_back(op, id);
  return lines;
}

std::size_t Count(const std::string& path, char op) {
  std::size_t n = 0;
  for (const auto& [o, id] : ReadLines(path)) n += o == op ? 1 : 0;
  return n;
}

TEST_F(PgTest, KillNineMidStreamLosesNothingAndRedeliversOnlyWhatWasNotAcked) {
  Exec("CREATE TABLE " + Q("t") + " (id int PRIMARY KEY)");
  Exec("INSERT INTO " + Q("t") + " SELECT g FROM generate_series(1, 20) g");
  const std::string run1 = ::testing::TempDir() + name_ + "_run1_" + std::to_string(::getpid());
  const std::string run2 = ::testing::TempDir() + name_ + "_run2_" + std::to_string(::getpid());
  std::remove(run1.c_str());
  std::remove(run2.c_str());

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The consumer: runs until killed. Never returns into the test framework.
    try {
      Engine engine(FastOptions());
      engine.AddSource("pg", std::make_shared<Source>(Options()));
      engine.AddPipeline("pg", T("t"), std::make_shared<FileTarget>(run1));
      engine.Start();
      for (;;) ::pause();
    } catch (...) {
      ::_exit(3);
    }
  }
  ASSERT_TRUE(Eventually([&] { return Count(run1, 'b') == 20; }, 30s));
  Lsn after_50;
  for (int i = 21; i <= 200; ++i) {
    Exec("INSERT INTO " + Q("t") + " VALUES (" + std::to_string(i) + ")");
    if (i == 50) after_50 = CurrentLsn();
    if (i == 120) {
      // Kill once the first 30 inserts are ACKed at the server and more are in flight.
      ASSERT_TRUE(Eventually([&] { return ConfirmedFlush().value() >= after_50; }, 30s));
      ::kill(child, SIGKILL);
      int status = 0;
      ::waitpid(child, &status, 0);
    }
  }
  const Lsn confirmed = ConfirmedFlush().value();

  Engine engine(FastOptions());
  engine.AddSource("pg", std::make_shared<Source>(Options()));
  engine.AddPipeline("pg", T("t"), std::make_shared<FileTarget>(run2));
  engine.Start();
  ASSERT_TRUE(Eventually(
      [&] {
        auto lines = ReadLines(run2);
        return !lines.empty() && lines.back().second == 200;
      },
      30s));
  engine.Stop();

  std::set<int> first;
  for (const auto& [op, id] : ReadLines(run1)) first.insert(id);
  std::vector<int> second;
  for (const auto& [op, id] : ReadLines(run2)) {
    EXPECT_EQ(op, 'i') << "the second run resumed, it must not baseline";
    second.push_back(id);
  }
  ASSERT_FALSE(second.empty());
  // The second run starts right after something the first run applied and ACKed, and continues
  // without a gap to the end: nothing lost.
  const int resumed_at = second.front();
  EXPECT_TRUE(first.contains(resumed_at - 1)) << resumed_at;
  for (std::size_t k = 0; k < second.size(); ++k) {
    EXPECT_EQ(second[k], resumed_at + static_cast<int>(k));
  }
  EXPECT_EQ(second.back(), 200);
  // Redelivered: only changes after the last ACK the server received, never those before it.
  EXPECT_GT(resumed_at, 50) << "slot confirmed " << confirmed.ToString();
  std::remove(run1.c_str());
  std::remove(run2.c_str());
}

}  // namespace
}  // namespace laredo::pg::testing
