#pragma once

// An engine (test source, users table into an IndexedTarget) with the Prometheus observer, and a
// `laredo::http::Server` in front of it.

#include <memory>

#include "engine/test_util.hpp"
#include "laredo/http/server.hpp"
#include "laredo/memory/indexed_target.hpp"
#include "laredo/metrics/prometheus_observer.hpp"
#include "laredo/snapshot/store.hpp"

namespace laredo::testing {

struct ServedEngine {
  explicit ServedEngine(
      std::shared_ptr<SyncTarget> target = std::make_shared<memory::IndexedTarget>(),
      std::shared_ptr<snapshot::SnapshotStore> snapshots = nullptr)
      : observer(std::make_shared<metrics::PrometheusObserver>()),
        source(UsersSource()),
        engine(WithSnapshots(FastOptions(observer), std::move(snapshots))) {
    engine.AddSource("s", source);
    engine.AddPipeline("s", kUsers, std::move(target));
  }

  /// Starts the engine, then the server with `options` (its metrics are the observer's).
  void Start(http::ServerOptions options = {}) {
    engine.Start();
    options.metrics = observer->GetRegistry();
    server = std::make_unique<http::Server>(engine, std::move(options));
  }

  [[nodiscard]] std::uint16_t Port() const { return server->Port(); }

  static EngineOptions WithSnapshots(EngineOptions options,
                                     std::shared_ptr<snapshot::SnapshotStore> store) {
    options.snapshots.store = std::move(store);
    options.snapshots.interval = std::chrono::milliseconds(0);
    return options;
  }

  std::shared_ptr<metrics::PrometheusObserver> observer;
  std::shared_ptr<testsource::TestSource> source;
  Engine engine;
  std::unique_ptr<http::Server> server;  // declared last: destroyed before the engine
};

}  // namespace laredo::testing
