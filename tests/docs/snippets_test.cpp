// Every ```cpp block of README.md and docs/*.md compiles with -Wall -Wextra -Werror (g++ 12 warns
// about designated initializers that leave fields out, so what users copy must compile as shown).
//
// A block that defines something at namespace scope (a struct, a function) is compiled as it is;
// any other block is a fragment of statements and is compiled inside a function that provides the
// names fragments assume (`engine`, `target`). Both get the library headers first.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Snippet {
  std::string file;
  int line = 0;
  std::string code;
};

std::vector<Snippet> Extract(const fs::path& path) {
  std::vector<Snippet> out;
  std::ifstream in(path);
  std::string line;
  int number = 0;
  bool inside = false;
  Snippet current;
  while (std::getline(in, line)) {
    ++number;
    if (!inside && line.rfind("```cpp", 0) == 0) {
      inside = true;
      current = Snippet{path.filename().string(), number + 1, {}};
    } else if (inside && line.rfind("```", 0) == 0) {
      inside = false;
      out.push_back(current);
    } else if (inside) {
      current.code += line + "\n";
    }
  }
  return out;
}

// A namespace-scope definition: a struct or class, or a function definition's first line.
bool DefinesSomething(const std::string& code) {
  static const std::regex definition(
      R"((^|\n)(struct|class) \w+|(^|\n)[\w:<>,* &]+ \w+\([^;]*\) \{)");
  return std::regex_search(code, definition);
}

std::string Prelude() {
  std::string p =
      "#include <gtest/gtest.h>\n"
      "#include <chrono>\n#include <cstdlib>\n#include <memory>\n#include <optional>\n"
      "#include <laredo/laredo.hpp>\n#include <laredo/testsource/test_source.hpp>\n"
      "#include <laredo/memory/typed_target.hpp>\n"
      "#include <laredo/metrics/prometheus_observer.hpp>\n";
#ifdef LAREDO_SNIPPETS_PG
  p += "#include <laredo/pg/source.hpp>\n";
#endif
#ifdef LAREDO_SNIPPETS_HTTP
  p += "#include <laredo/http/server.hpp>\n";
#endif
#ifdef LAREDO_SNIPPETS_KINESIS
  p += "#include <laredo/kinesis/source.hpp>\n#include <laredo/kinesis/checkpoint_store.hpp>\n";
#endif
  // What fragments assume: a user's source type.
  p += "struct MySource : laredo::testsource::TestSource {};\n";
  return p;
}

std::string Wrap(const Snippet& s) {
  std::string includes;
  std::string body;
  std::istringstream lines(s.code);
  for (std::string line; std::getline(lines, line);) {
    (line.rfind("#include", 0) == 0 ? includes : body) += line + "\n";
  }
  if (DefinesSomething(s.code)) return Prelude() + s.code;
  // In a block of its own, so a fragment may declare `engine` itself.
  return Prelude() + includes +
         "[[maybe_unused]] void Snippet(laredo::Engine& engine, "
         "std::shared_ptr<laredo::SyncTarget> target) {\n  (void)engine;\n  (void)target;\n{\n" +
         body + "}\n}\n";
}

[[maybe_unused]] bool Mentions(const std::string& code, const char* what) {
  return code.find(what) != std::string::npos;
}

TEST(DocSnippets, EverySnippetCompilesWithExtraWarnings) {
  const fs::path root = LAREDO_SOURCE_DIR;
  std::vector<fs::path> files{root / "README.md"};
  for (const auto& entry : fs::directory_iterator(root / "docs")) {
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  }
  const fs::path dir = fs::temp_directory_path() / "laredo-doc-snippets";
  fs::create_directories(dir);
  int compiled = 0;
  for (const auto& file : files) {
    for (const auto& snippet : Extract(file)) {
#ifndef LAREDO_SNIPPETS_PG
      if (Mentions(snippet.code, "laredo::pg")) continue;
#endif
#ifndef LAREDO_SNIPPETS_KINESIS
      if (Mentions(snippet.code, "laredo::kinesis")) continue;
#endif
#ifndef LAREDO_SNIPPETS_HTTP
      if (Mentions(snippet.code, "laredo::http")) continue;
#endif
      const auto source = dir / (snippet.file + "-" + std::to_string(snippet.line) + ".cpp");
      std::ofstream(source) << Wrap(snippet);
      const std::string command = std::string(LAREDO_CXX) +
                                  " -std=c++20 -fsyntax-only -Wall -Wextra -Werror " +
                                  LAREDO_SNIPPET_FLAGS + " " + source.string() + " 2>&1";
      std::string output;
      if (FILE* pipe = popen(command.c_str(), "r")) {
        char buffer[4096];
        while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
        const int status = pclose(pipe);
        EXPECT_EQ(status, 0) << snippet.file << ":" << snippet.line
                             << " does not compile as shown:\n"
                             << output.substr(0, 4000);
      } else {
        ADD_FAILURE() << "cannot run " << command;
      }
      ++compiled;
    }
  }
  EXPECT_GE(compiled, 4) << "the docs lost their examples?";
}

}  // namespace
