#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace laredo::pg {

/// What a server error means for the source. The one place that reads SQLSTATEs: callers act on
/// the class, never on the (translated) message text.
enum class SqlStateClass : std::uint8_t {
  /// The connection is gone or the server is busy, restarting or resolving a conflict (class 08,
  /// 57P01-57P03, 53300, 40001, 40P01, 55006): the same call may succeed later.
  Transient,
  /// The configuration is wrong: credentials, authorization, pg_hba.conf, the database name,
  /// missing privileges (class 28, 3D000, 42501). Retrying with it cannot help.
  Configuration,
  /// Anything else: a failed statement, not retried.
  Other,
};

SqlStateClass ClassifySqlState(std::string_view sqlstate);

/// A libpq error message formatted with PQERRORS_VERBOSE ("...FATAL:  28P01: password
/// authentication failed...\nLOCATION:  ..."): the SQLSTATE of its last server error (libpq has no
/// other way to report one for a failed connection attempt) and the message as the default
/// verbosity would have shown it (without the SQLSTATE and the server's source location).
struct ConnectFailure {
  std::optional<std::string> sqlstate;
  std::string message;
};
ConnectFailure ParseVerboseConnectError(std::string_view message);

}  // namespace laredo::pg
