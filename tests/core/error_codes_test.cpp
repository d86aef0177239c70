// The stable error codes live in one header, and the library's code uses only those constants:
// a code typed as a literal somewhere else could drift from the documented one unnoticed.
#include "laredo/error_codes.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "laredo/error.hpp"

namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// value -> constant name, parsed from the header itself so the test follows it.
std::map<std::string, std::string> DeclaredCodes() {
  const std::string header =
      ReadFile(fs::path(LAREDO_SOURCE_DIR) / "include/laredo/error_codes.hpp");
  const std::regex declaration(R"re(inline constexpr char (k\w+)\[\] = "([^"]+)";)re");
  std::map<std::string, std::string> codes;
  for (std::sregex_iterator it(header.begin(), header.end(), declaration), end; it != end; ++it) {
    EXPECT_TRUE(codes.emplace((*it)[2], (*it)[1]).second) << "code declared twice: " << (*it)[2];
  }
  return codes;
}

std::vector<fs::path> LibrarySources() {
  std::vector<fs::path> files;
  const fs::path root(LAREDO_SOURCE_DIR);
  for (const char* dir : {"include", "src", "sources", "components"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".cpp" || ext == ".hpp") &&
          entry.path().filename() != "error_codes.hpp") {
        files.push_back(entry.path());
      }
    }
  }
  return files;
}

// The code part of a line: comments are documentation and may quote a code's string.
std::string CodePart(const std::string& line) {
  const auto comment = line.find("//");
  return comment == std::string::npos ? line : line.substr(0, comment);
}

TEST(ErrorCodes, TheHeaderDeclaresTheStableValues) {
  const auto codes = DeclaredCodes();
  EXPECT_GE(codes.size(), 50U);
  // A few values users switch on, pinned: renaming one breaks callers.
  EXPECT_STREQ(laredo::codes::kConfig, "config");
  EXPECT_STREQ(laredo::codes::kBadPosition, "bad_position");
  EXPECT_STREQ(laredo::codes::kPgSlotInUse, "pg_slot_in_use");
  EXPECT_STREQ(laredo::validation_codes::kTableNotFound, "TABLE_NOT_FOUND");
  const std::regex shape("[a-z][a-z0-9_]*|[A-Z][A-Z0-9_]*");
  for (const auto& [value, name] : codes) {
    EXPECT_TRUE(std::regex_match(value, shape)) << name << " = \"" << value << "\"";
  }
}

TEST(ErrorCodes, ExceptionsCarryTheConstant) {
  const laredo::RebaselineRequired rebaseline("slot lost");
  EXPECT_EQ(rebaseline.code(), laredo::codes::kRebaselineRequired);
  const laredo::ConfigError config({"a problem"});
  EXPECT_EQ(config.code(), laredo::codes::kConfig);
}

TEST(ErrorCodes, TheLibraryNeverSpellsACodeAsALiteral) {
  const auto codes = DeclaredCodes();
  const std::regex literal(R"re("([A-Za-z0-9_]+)")re");
  // `throw SomeError("...")`: the first argument must be a constant, whatever its value.
  const std::regex literal_code(R"re(\b(Error|RetryableError|FatalError|DataError)\(\s*")re");
  std::vector<std::string> offenders;
  for (const auto& file : LibrarySources()) {
    std::ifstream in(file);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      const std::string code = CodePart(line);
      const auto where =
          file.lexically_relative(LAREDO_SOURCE_DIR).string() + ":" + std::to_string(number) + ": ";
      if (std::regex_search(code, literal_code)) offenders.push_back(where + line);
      for (std::sregex_iterator it(code.begin(), code.end(), literal), end; it != end; ++it) {
        if (const auto found = codes.find((*it)[1]); found != codes.end()) {
          offenders.push_back(where + "use laredo::...::" + found->second + ": " + line);
        }
      }
    }
  }
  EXPECT_TRUE(offenders.empty()) << [&] {
    std::string all;
    for (const auto& o : offenders) all += o + "\n";
    return all;
  }();
}

}  // namespace
