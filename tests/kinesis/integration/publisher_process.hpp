#pragma once

// The publisher program (examples/publisher) run as a child process, for the end-to-end tests:
// started with posix_spawn (safe in a process that already runs threads), its output appended to
// a log file the tests print when they fail, stopped with SIGTERM or killed with SIGKILL.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX leaves it undeclared

namespace laredo::kinesis::it {

class PublisherProcess {
 public:
  /// `settings` are NAME=value pairs added to (or replacing) this process's environment: the
  /// program reads its configuration from there, so nothing secret shows on its command line.
  PublisherProcess(std::string program, std::vector<std::string> settings, std::string log_path)
      : program_(std::move(program)),
        settings_(std::move(settings)),
        log_path_(std::move(log_path)) {}
  PublisherProcess(const PublisherProcess&) = delete;
  PublisherProcess& operator=(const PublisherProcess&) = delete;
  ~PublisherProcess() { Kill(); }

  void Start() {
    if (pid_ > 0) throw std::logic_error("the publisher is already running");
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      const auto name = entry.substr(0, entry.find('=') + 1);
      bool replaced = false;
      for (const auto& s : settings_) replaced = replaced || s.starts_with(name);
      if (!replaced) env.push_back(entry);
    }
    env.insert(env.end(), settings_.begin(), settings_.end());
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string arg0 = program_;
    std::vector<char*> argv{arg0.data(), nullptr};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int rc =
        posix_spawn(&pid_, program_.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + program_ + ": " +
                               std::error_code(rc, std::generic_category()).message());
    }
  }

  [[nodiscard]] bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_status_ = status;
      return false;
    }
    return true;
  }

  /// kill -9: no chance to flush, acknowledge or close anything.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &exit_status_, 0);
    pid_ = -1;
  }

  /// A clean stop (SIGTERM: the program stops its engine, which writes what it holds); true when
  /// it exited with status 0 within `timeout`.
  bool Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return false;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Running()) {
      if (std::chrono::steady_clock::now() > deadline) {
        Kill();
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(exit_status_) && WEXITSTATUS(exit_status_) == 0;
  }

  /// The program's output so far (both runs, appended).
  [[nodiscard]] std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string program_;
  std::vector<std::string> settings_;
  std::string log_path_;
  pid_t pid_ = -1;
  int exit_status_ = 0;
};

}  // namespace laredo::kinesis::it
