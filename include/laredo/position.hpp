#pragma once

#include <any>

namespace laredo {

/// A source's place in its change stream. Opaque to the engine: each source stores its own
/// copyable type (a `uint64_t`, an `Lsn`, a struct) and compares, prints and parses it through
/// `SyncSource`. An empty `std::any` means "no position".
using Position = std::any;

}  // namespace laredo
