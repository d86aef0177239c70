#pragma once

#include <string_view>
#include <vector>

#include "copy_text.hpp"

namespace laredo::pg {

/// Reads the messages of `COPY ... TO STDOUT (FORMAT binary)`: the 19-byte header (signature,
/// flags, header extension) before the first tuple, then one tuple per message (Int16 field
/// count, per field an Int32 length, -1 for NULL, and the value's binary send format), then the
/// trailer (field count -1).
///
/// `CopyField::text` holds a field's binary value, a view into the message (valid while it is).
/// Strict like the text parser: a bad signature, flags with the OIDs bit (or any critical bit),
/// a truncated field, a field count other than `columns`, bytes after a tuple or anything after
/// the trailer throw `laredo::DataError` (code "bad_copy_line").
/// Thread-safety: one parser per COPY, on one thread.
class CopyBinaryParser {
 public:
  explicit CopyBinaryParser(std::size_t columns) : columns_(columns) {}

  /// Parses one CopyData message. Returns the tuple's fields, or nullptr for a message that
  /// holds no tuple (the trailer). Views stay valid until the next call and while `message` is.
  const std::vector<CopyField>* Parse(std::string_view message);

  /// Whether the trailer was read: a COPY that ends without it lost its end.
  [[nodiscard]] bool finished() const noexcept { return finished_; }

 private:
  std::size_t columns_;
  bool header_read_ = false;
  bool finished_ = false;
  std::vector<CopyField> fields_;
};

}  // namespace laredo::pg
