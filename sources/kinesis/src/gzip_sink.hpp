#pragma once

#include <memory>

#include "laredo/snapshot/streams.hpp"

// Gzip-compresses what is written into another sink (the writer's side of gzip_lines.hpp).
namespace laredo::kinesis {

/// One gzip member around everything written; `Close` finishes it and closes `inner`. Destroyed
/// unclosed, it destroys `inner` unclosed (which discards what `inner` got). One thread at a time.
std::unique_ptr<snapshot::ByteSink> MakeGzipSink(std::unique_ptr<snapshot::ByteSink> inner);

}  // namespace laredo::kinesis
