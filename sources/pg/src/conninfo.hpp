#pragma once

#include <string>
#include <string_view>

namespace laredo::pg {

/// The connection string with every password replaced by "***", for logs and error messages.
/// Handles both libpq forms:
/// - URI: "postgresql://user:secret@host/db?password=x" ->
/// "postgresql://user:***@host/db?password=***"
/// - key=value: "host=h password='se cret'" -> "host=h password=***"; a `dbname` value that is
///   itself a connection string or URI (libpq expands those) is redacted too.
/// When the input is malformed it errs towards hiding more (an unterminated quoted password hides
/// the rest of the string), never less. Keywords match case-insensitively for the same reason.
std::string RedactConnInfo(std::string_view conninfo);

}  // namespace laredo::pg
