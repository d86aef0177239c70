// Wires the CSV source to an indexed in-memory target through the engine, then checks that the
// baseline and an appended change both arrive. Exits non-zero on any mismatch.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <laredo/laredo.hpp>
#include <thread>

#include "csv_source.hpp"

int main() {
  using namespace std::chrono_literals;
  const auto dir =
      std::filesystem::temp_directory_path() / ("laredo-csv-example-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream users(dir / "public.users.csv");
    users << "id,name,email\n1,Ada,ada@example.com\n2,Grace,\"grace@example.com\"\n3,\"Hopper, "
             "G\",g@h\n";
    std::ofstream changes(dir / "changes.log");
  }

  auto source = std::make_shared<csvsource::Source>(dir);
  auto target = std::make_shared<laredo::memory::IndexedTarget>();
  laredo::Engine engine;
  engine.AddSource("csv", source);
  engine.AddPipeline("csv", laredo::Table("public", "users"), target);
  engine.Start();
  if (!engine.AwaitReady(30s)) {
    std::fprintf(stderr, "engine did not become ready: %s\n",
                 engine.SourceError("csv").value_or("?").c_str());
    return 1;
  }
  std::printf("baseline: %zu rows\n", target->Count());
  if (target->Count() != 3 ||
      target->Get({laredo::Value("3")})->at("name").AsText() != "Hopper, G") {
    std::fprintf(stderr, "unexpected baseline contents\n");
    return 1;
  }

  {
    std::ofstream changes(dir / "changes.log", std::ios::app);
    changes << "insert,public.users,id=4,name=Barbara,email=b@l\n"
            << "delete,public.users,id=1\n";
  }
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!(target->Get({laredo::Value("4")}) && !target->Get({laredo::Value("1")}))) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "streamed changes did not arrive\n");
      return 1;
    }
    std::this_thread::sleep_for(10ms);
  }
  engine.Stop();
  std::printf("after changes: %zu rows, last ACK %s\n", target->Count(),
              engine.LastAckedPositionString("csv").c_str());
  std::filesystem::remove_all(dir);
  std::printf("custom source example: OK\n");
  return target->Count() == 3 ? 0 : 1;
}
