#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "laredo/error.hpp"

namespace laredo::pg {

/// Bytes from the server that do not follow the wire format. Carries where decoding stopped and
/// what it expected there, so a bad message can be reported (and kept) precisely.
class WireDecodeError : public DataError {
 public:
  WireDecodeError(std::string code, std::string_view what_message, std::size_t offset,
                  std::size_t size, std::string expected)
      : DataError(std::move(code), fmt::format("{}: at byte {} of {}: expected {}", what_message,
                                               offset, size, expected)),
        offset_(offset),
        expected_(std::move(expected)) {}

  /// Byte offset in the message where the problem was found.
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }
  /// What the decoder expected at that offset ("Int32 relation id", "end of message", ...).
  [[nodiscard]] const std::string& expected() const noexcept { return expected_; }

 private:
  std::size_t offset_;
  std::string expected_;
};

/// Big-endian reader over one message. Every read is bounds-checked and names what it reads, so
/// the error says what was missing. Views it returns point into the message.
template <class ErrorT>
class ByteReader {
 public:
  ByteReader(std::span<const std::byte> data, std::string_view context)
      : data_(data), context_(context) {}

  [[nodiscard]] std::size_t offset() const noexcept { return pos_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return data_.size() - pos_; }
  /// Names the message in errors once its type is known ("pgoutput Insert").
  void set_context(std::string_view context) noexcept { context_ = context; }

  [[noreturn]] void Fail(std::string expected) const { FailAt(pos_, std::move(expected)); }
  [[noreturn]] void FailAt(std::size_t offset, std::string expected) const {
    throw ErrorT(context_, offset, data_.size(), std::move(expected));
  }

  std::uint8_t U8(std::string_view what) { return static_cast<std::uint8_t>(Unsigned(1, what)); }
  std::uint16_t U16(std::string_view what) { return static_cast<std::uint16_t>(Unsigned(2, what)); }
  std::uint32_t U32(std::string_view what) { return static_cast<std::uint32_t>(Unsigned(4, what)); }
  std::uint64_t U64(std::string_view what) { return Unsigned(8, what); }
  std::int16_t I16(std::string_view what) { return static_cast<std::int16_t>(U16(what)); }
  std::int32_t I32(std::string_view what) { return static_cast<std::int32_t>(U32(what)); }
  std::int64_t I64(std::string_view what) { return static_cast<std::int64_t>(U64(what)); }

  /// A count or length that the format sends as a signed Int16/Int32 but that cannot be negative.
  std::size_t Count16(std::string_view what) {
    const auto at = pos_;
    const std::int16_t n = I16(what);
    if (n < 0) FailAt(at, fmt::format("non-negative {} (got {})", what, n));
    return static_cast<std::size_t>(n);
  }
  std::size_t Length32(std::string_view what) {
    const auto at = pos_;
    const std::int32_t n = I32(what);
    if (n < 0) FailAt(at, fmt::format("non-negative {} (got {})", what, n));
    return static_cast<std::size_t>(n);
  }

  /// `n` raw bytes as a view into the message.
  std::string_view Bytes(std::size_t n, std::string_view what) {
    if (n > remaining()) {
      Fail(fmt::format("{} of {} bytes ({} left)", what, n, remaining()));
    }
    const auto* p = reinterpret_cast<const char*>(data_.data() + pos_);  // NOLINT: byte view
    pos_ += n;
    return {p, n};
  }

  /// A NUL-terminated string; the view excludes the terminator.
  std::string_view CString(std::string_view what) {
    const auto begin = pos_;
    for (std::size_t i = pos_; i < data_.size(); ++i) {
      if (data_[i] == std::byte{0}) {
        pos_ = i + 1;
        const auto* p = reinterpret_cast<const char*>(data_.data() + begin);  // NOLINT
        return {p, i - begin};
      }
    }
    Fail(fmt::format("NUL-terminated {}", what));
  }

  /// The rest of the message as a view.
  std::span<const std::byte> Rest() {
    auto rest = data_.subspan(pos_);
    pos_ = data_.size();
    return rest;
  }

  void ExpectEnd() const {
    if (pos_ != data_.size()) Fail(fmt::format("end of message ({} bytes left)", remaining()));
  }

 private:
  std::uint64_t Unsigned(std::size_t n, std::string_view what) {
    if (n > remaining()) Fail(fmt::format("{} ({} bytes, {} left)", what, n, remaining()));
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      v = (v << 8U) | std::to_integer<std::uint64_t>(data_[pos_ + i]);
    }
    pos_ += n;
    return v;
  }

  std::span<const std::byte> data_;
  std::string_view context_;
  std::size_t pos_ = 0;
};

}  // namespace laredo::pg
