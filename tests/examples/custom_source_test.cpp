// The custom-source example (examples/custom_source) against the source contract, through the
// engine and an indexed in-memory target: nothing appended between baseline and stream is lost,
// a partial update keeps the other columns, a malformed line is reported and the stream goes on,
// and a pause holds the stream until resume.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <laredo/laredo.hpp>
#include <string>
#include <thread>

#include "csv_source.hpp"
#include "engine/test_util.hpp"

namespace {

using namespace std::chrono_literals;
using laredo::testing::Eventually;

const laredo::TableIdentifier kUsers = laredo::Table("public", "users");

// The example's source, plus a writer appending to changes.log right after the baseline read
// the CSV files: the lines a stream that starts at the end of the file would lose.
class AppendAfterBaseline : public csvsource::Source {
 public:
  AppendAfterBaseline(std::filesystem::path dir, std::string lines)
      : csvsource::Source(dir), dir_(std::move(dir)), lines_(std::move(lines)) {}
  laredo::Position Baseline(std::stop_token stop,
                            const std::vector<laredo::TableIdentifier>& tables,
                            const laredo::RowCallback& on_row) override {
    auto position = csvsource::Source::Baseline(stop, tables, on_row);
    std::ofstream(dir_ / "changes.log", std::ios::app) << lines_;
    return position;
  }

 private:
  std::filesystem::path dir_;
  std::string lines_;
};

// Collects what a source delivers when driven without the engine. Thread-safe.
class Collector : public laredo::ChangeHandler {
 public:
  void OnChange(laredo::ChangeEvent event) override {
    std::lock_guard lk(mu_);
    events_.push_back(std::move(event));
  }
  std::size_t Count() const {
    std::lock_guard lk(mu_);
    return events_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<laredo::ChangeEvent> events_;
};

class CsvSourceExample : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("laredo-csv-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "public.users.csv")
        << "id,name,email\n1,Ada,ada@example.com\n2,Grace,g@x\n";
    std::ofstream(dir_ / "changes.log") << "insert,public.users,id=0,name=Old,email=o@x\n";
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
    std::filesystem::remove_all(dir_);
  }

  void Append(const std::string& lines) const {
    std::ofstream(dir_ / "changes.log", std::ios::app) << lines;
  }

  // Starts the engine on `source` and waits for the baseline.
  void Start(std::shared_ptr<laredo::SyncSource> source) {
    engine_ = std::make_unique<laredo::Engine>(laredo::testing::FastOptions(observer_));
    engine_->AddSource("csv", std::move(source));
    laredo::PipelineOptions options;
    options.dead_letter = dead_letters_;
    engine_->AddPipeline("csv", kUsers, target_, options);
    engine_->Start();
    ASSERT_TRUE(engine_->AwaitReady(10s)) << engine_->SourceError("csv").value_or("");
  }

  [[nodiscard]] bool HasRow(const std::string& id) const {
    return target_->Get({laredo::Value(id)}).has_value();
  }
  [[nodiscard]] std::string Column(const std::string& id, const std::string& column) const {
    const auto row = target_->Get({laredo::Value(id)});
    return row ? row->at(column).ToString() : "<no row>";
  }

  std::filesystem::path dir_;
  std::shared_ptr<laredo::testing::RecordingObserver> observer_ =
      std::make_shared<laredo::testing::RecordingObserver>();
  std::shared_ptr<laredo::InMemoryDeadLetterSink> dead_letters_ =
      std::make_shared<laredo::InMemoryDeadLetterSink>();
  std::shared_ptr<laredo::memory::IndexedTarget> target_ =
      std::make_shared<laredo::memory::IndexedTarget>();
  std::unique_ptr<laredo::Engine> engine_;
};

TEST_F(CsvSourceExample, LinesAppendedBeforeTheStreamStartsAreDelivered) {
  Start(std::make_shared<AppendAfterBaseline>(dir_,
                                              "insert,public.users,id=3,name=Hopper,email=h@x\n"
                                              "delete,public.users,id=2\n"));
  EXPECT_TRUE(Eventually([&] { return HasRow("3") && !HasRow("2"); }, 5s));
  // A line logged before the baseline is in the CSV files already: not applied again.
  EXPECT_FALSE(HasRow("0"));
}

TEST_F(CsvSourceExample, APartialUpdateKeepsTheOtherColumns) {
  Start(std::make_shared<csvsource::Source>(dir_));
  Append("update,public.users,id=1,email=ada@new.example.com\n");
  ASSERT_TRUE(Eventually([&] { return Column("1", "email") == "ada@new.example.com"; }, 5s))
      << Column("1", "email");
  EXPECT_EQ(Column("1", "name"), "Ada");
}

TEST_F(CsvSourceExample, AMalformedLineIsReportedAndTheStreamGoesOn) {
  Start(std::make_shared<csvsource::Source>(dir_));
  Append(
      "this is not a change\n"
      "insert,nosuch.table,id=9\n"
      "update,public.users,name=no key\n"
      "insert,public.users,id=5,name=Katherine,email=k@x\n");
  ASSERT_TRUE(Eventually([&] { return HasRow("5"); }, 5s))
      << engine_->SourceError("csv").value_or("");
  EXPECT_EQ(dead_letters_->Count(), 3U);
  for (const auto& letter : dead_letters_->Letters()) EXPECT_EQ(letter.operation, "invalid_record");
  EXPECT_FALSE(engine_->SourceError("csv").has_value());
}

TEST_F(CsvSourceExample, APauseHoldsTheEngineUntilResume) {
  Start(std::make_shared<csvsource::Source>(dir_));
  engine_->Pause("csv");
  Append("insert,public.users,id=6,name=Mary,email=m@x\n");
  std::this_thread::sleep_for(300ms);  // nothing may happen: a wait for an absence
  EXPECT_FALSE(HasRow("6"));
  engine_->Resume("csv");
  EXPECT_TRUE(Eventually([&] { return HasRow("6"); }, 5s));
}

// The engine's pipelines hold while paused anyway; the source contract asks more: the source
// itself stops consuming (changes wait at the origin).
TEST_F(CsvSourceExample, APausedSourceConsumesNothing) {
  csvsource::Source source(dir_);
  source.Init(laredo::SourceConfig{.tables = {kUsers}, .options = {}});
  const laredo::Position from = source.Baseline({}, {kUsers}, [](auto&&...) {});
  Collector collector;
  std::jthread stream(
      [&](std::stop_token stop) { source.Stream(std::move(stop), from, collector); });
  Append("insert,public.users,id=7,name=Edith,email=e@x\n");
  ASSERT_TRUE(Eventually([&] { return collector.Count() == 1; }, 5s));

  source.Pause();
  Append("insert,public.users,id=8,name=Frances,email=f@x\n");
  std::this_thread::sleep_for(300ms);  // three looks at the file: nothing may be delivered
  EXPECT_EQ(collector.Count(), 1U);
  source.Resume();
  EXPECT_TRUE(Eventually([&] { return collector.Count() == 2; }, 5s));
}

}  // namespace
