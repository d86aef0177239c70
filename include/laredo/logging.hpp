#pragma once

#include <memory>

namespace spdlog {
class logger;
}

namespace laredo {

/// Sends the library's log lines to `logger` (an spdlog logger of the embedding service). Pass
/// nullptr to silence the library. Until called, lines go to a logger named "laredo" writing to
/// stderr at level info. Thread-safe; affects lines logged after the call.
void SetLogger(std::shared_ptr<spdlog::logger> logger);

/// The logger in use (never null).
std::shared_ptr<spdlog::logger> Logger();

}  // namespace laredo
