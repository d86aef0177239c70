#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "laredo/snapshot/streams.hpp"

// POSIX file access for the local snapshot store: the durability steps (fsync of a file and of a
// directory) that std::filesystem does not offer. Every failure throws `laredo::Error`
// ("snapshot_io") naming the path and the system's reason.
namespace laredo::snapshot::local {

[[noreturn]] void ThrowIo(const std::string& what, const std::filesystem::path& path);

/// A new file (it must not exist); `Close` fsyncs and closes it. Destroyed unclosed, it closes
/// the descriptor and leaves the partial file to its directory's cleanup.
std::unique_ptr<ByteSink> CreateFile(const std::filesystem::path& path);
std::unique_ptr<ByteSource> OpenFile(const std::filesystem::path& path);
/// Writes `text` to a new file and fsyncs it.
void WriteFile(const std::filesystem::path& path, const std::string& text);
std::string ReadFile(const std::filesystem::path& path);
/// Makes the entries of `directory` (creations, renames) durable.
void SyncDirectory(const std::filesystem::path& directory);

}  // namespace laredo::snapshot::local
