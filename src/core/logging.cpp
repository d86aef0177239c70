#include "laredo/logging.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace laredo {
namespace {

std::shared_ptr<spdlog::logger> MakeDefault() {
  auto logger = std::make_shared<spdlog::logger>(
      "laredo", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(spdlog::level::info);
  return logger;
}

std::atomic<std::shared_ptr<spdlog::logger>>& Slot() {
  static std::atomic<std::shared_ptr<spdlog::logger>> slot{MakeDefault()};
  return slot;
}

}  // namespace

void SetLogger(std::shared_ptr<spdlog::logger> logger) {
  if (!logger) {
    logger =
        std::make_shared<spdlog::logger>("laredo", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(spdlog::level::off);
  }
  Slot().store(std::move(logger));
}

std::shared_ptr<spdlog::logger> Logger() { return Slot().load(); }

}  // namespace laredo
