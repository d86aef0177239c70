// The endpoints, through curl: metrics, health, status, admin, and the options' checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "http/http_test_util.hpp"
#include "http/server_fixture.hpp"
#include "laredo/error.hpp"
#include "laredo/snapshot/local_directory_store.hpp"
#include "metrics/exposition.hpp"

namespace laredo::testing {
namespace {

constexpr const char* kApplied =
    R"(laredo_changes_applied_total{pipeline="s/public.users",table="public.users"})";

TEST(HttpServer, ServesMetricsHealthAndStatus) {
  LAREDO_REQUIRE_TOOL(curl, "curl");
  ServedEngine e;
  e.source->AddRow(kUsers, User(1, "base"));
  e.Start();
  ASSERT_TRUE(e.engine.AwaitReady(10s));
  std::uint64_t last = 0;
  for (int i = 10; i < 13; ++i) last = e.source->EmitInsert(kUsers, User(i, "x"));
  ASSERT_TRUE(e.source->AwaitAck(last, 10s));
  ASSERT_TRUE(Eventually([&] {
    return SampleValue(e.observer->Render(), kApplied) == 3 &&
           e.engine.LastAckedPositionString("s") == std::to_string(last);
  }));

  const auto metrics = Curl(Url(e.Port(), "/metrics"));
  ASSERT_EQ(metrics.status, 200) << metrics.output;
  EXPECT_EQ(SampleValue(metrics.body, kApplied), 3) << metrics.body;
  const auto type = Curl("-o /dev/null -w '%{content_type}' " + Url(e.Port(), "/metrics"));
  EXPECT_NE(type.output.find("text/plain; version=0.0.4"), std::string::npos) << type.output;

  EXPECT_EQ(Curl(Url(e.Port(), "/health/live")).status, 200);
  const auto ready = Curl(Url(e.Port(), "/health/ready"));
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");

  const auto status = Curl(Url(e.Port(), "/status?pretty=1"));  // a query string is ignored
  ASSERT_EQ(status.status, 200) << status.output;
  const auto doc = nlohmann::json::parse(status.body);
  EXPECT_EQ(doc["ready"], true);
  ASSERT_EQ(doc["sources"].size(), 1U) << status.body;
  EXPECT_EQ(doc["sources"][0]["id"], "s");
  EXPECT_EQ(doc["sources"][0]["state"], "Streaming");
  EXPECT_EQ(doc["sources"][0]["last_acked_position"], std::to_string(last));
  EXPECT_TRUE(doc["sources"][0]["error"].is_null());
  ASSERT_EQ(doc["pipelines"].size(), 1U);
  EXPECT_EQ(doc["pipelines"][0]["id"], "s/public.users");
  EXPECT_EQ(doc["pipelines"][0]["state"], "Streaming");
  EXPECT_EQ(doc["pipelines"][0]["changes_applied"], 3);
  EXPECT_EQ(doc["pipelines"][0]["baseline_rows"], 1);
  EXPECT_EQ(doc["pipelines"][0]["reloading"], false);
}

TEST(HttpServer, ReadinessIs503WithTheReasonUntilTheBaselineIsDone) {
  LAREDO_REQUIRE_TOOL(curl, "curl");
  auto target = std::make_shared<RecordingTarget>();
  target->CloseGate();  // the baseline row blocks at the target
  ServedEngine e(target);
  e.source->AddRow(kUsers, User(1, "base"));
  e.Start();
  ASSERT_TRUE(target->AwaitBlocked());
  const auto not_ready = Curl(Url(e.Port(), "/health/ready"));
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("s/public.users"), std::string::npos) << not_ready.body;
  // One pipeline's readiness, its id percent-encoded.
  const auto one = Curl(Url(e.Port(), "/health/ready/s%2Fpublic.users"));
  EXPECT_EQ(one.status, 503);
  EXPECT_NE(one.body.find("loading its baseline"), std::string::npos) << one.body;
  EXPECT_EQ(Curl(Url(e.Port(), "/health/ready/no%2Fsuch")).status, 404);
  EXPECT_EQ(Curl(Url(e.Port(), "/health/live")).status, 200);  // alive all the same
  const auto status = nlohmann::json::parse(Curl(Url(e.Port(), "/status")).body);
  EXPECT_EQ(status["ready"], false);
  EXPECT_FALSE(status["not_ready_reason"].get<std::string>().empty());
  target->OpenGate();
  ASSERT_TRUE(e.engine.AwaitReady(10s));
  EXPECT_EQ(Curl(Url(e.Port(), "/health/ready")).status, 200);
  EXPECT_EQ(Curl(Url(e.Port(), "/health/ready/s%2Fpublic.users")).status, 200);
}

TEST(HttpServer, AdminEndpointsAreOffByDefault) {
  LAREDO_REQUIRE_TOOL(curl, "curl");
  ServedEngine e;
  e.Start();
  EXPECT_EQ(Curl("-X POST -H 'Authorization: Bearer x' " + Url(e.Port(), "/admin/sources/s/pause"))
                .status,
            403);
  EXPECT_FALSE(e.source->IsPaused());
}

TEST(HttpServer, AdminPauseAndResumeNeedTheToken) {
  LAREDO_REQUIRE_TOOL(curl, "curl");
  ServedEngine e;
  e.Start({.admin_enabled = true, .bearer_token = "t0ken"});
  ASSERT_TRUE(e.engine.AwaitReady(10s));
  const auto pause = Url(e.Port(), "/admin/sources/s/pause");
  const auto missing = Curl("-X POST -D - " + pause);
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.body.find("WWW-Authenticate: Bearer"), std::string::npos) << missing.body;
  EXPECT_EQ(Curl("-X POST -H 'Authorization: Basic dDBrZW4=' " + pause).status, 401);
  EXPECT_EQ(Curl("-X POST -H 'Authorization: Bearer t0keN' " + pause).status, 403);
  EXPECT_EQ(Curl("-X POST -H 'Authorization: Bearer t0ke' " + pause).status, 403);
  EXPECT_EQ(Curl("-H 'Authorization: Bearer t0ken' " + pause).status, 405);  // GET
  EXPECT_FALSE(e.source->IsPaused());

  EXPECT_EQ(
      Curl("-X POST -H 'Authorization: Bearer t0ken' " + Url(e.Port(), "/admin/sources/nope/pause"))
          .status,
      404);
  EXPECT_EQ(
      Curl("-X POST -H 'Authorization: Bearer t0ken' " + Url(e.Port(), "/admin/sources/s/explode"))
          .status,
      404);
  // The scheme is case-insensitive (RFC 9110), the token is not.
  EXPECT_EQ(Curl("-X POST -H 'Authorization: bearer t0ken' " + pause).status, 200);
  EXPECT_TRUE(e.source->IsPaused());
  EXPECT_EQ(e.engine.GetSourceState("s"), SourceState::Paused);
  EXPECT_EQ(
      Curl("-X POST -H 'Authorization: Bearer t0ken' " + Url(e.Port(), "/admin/sources/s/resume"))
          .status,
      200);
  EXPECT_FALSE(e.source->IsPaused());
  const auto last = e.source->EmitInsert(kUsers, User(1, "after resume"));
  EXPECT_TRUE(e.source->AwaitAck(last, 10s));
}

TEST(HttpServer, AdminSnapshotTakesOneOrSaysWhyNot) {
  LAREDO_REQUIRE_TOOL(curl, "curl");
  const auto dir = std::filesystem::temp_directory_path() /
                   ("laredo-http-snapshot-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    ServedEngine off;
    off.Start({.admin_enabled = true, .bearer_token = "t0ken"});
    ASSERT_TRUE(off.engine.AwaitReady(10s));
    const auto refused =
        Curl("-X POST -H 'Authorization: Bearer t0ken' " + Url(off.Port(), "/admin/snapshot"));
    EXPECT_EQ(refused.status, 409);
    EXPECT_NE(refused.body.find("snapshots are off"), std::string::npos) << refused.body;
  }
  auto store = std::make_shared<snapshot::LocalDirectoryStore>(
      snapshot::LocalDirectoryStoreOptions{.directory = dir});
  ServedEngine e(std::make_shared<memory::IndexedTarget>(), store);
  e.source->AddRow(kUsers, User(1, "a"));
  e.Start({.admin_enabled = true, .bearer_token = "t0ken"});
  ASSERT_TRUE(e.engine.AwaitReady(10s));
  const auto url = Url(e.Port(), "/admin/snapshot");
  EXPECT_EQ(Curl("-X POST -H 'Authorization: Bearer nope' " + url).status, 403);
  EXPECT_EQ(Curl("-H 'Authorization: Bearer t0ken' " + url).status, 405);
  EXPECT_TRUE(store->List().empty());
  const auto taken = Curl("-X POST -H 'Authorization: Bearer t0ken' " + url);
  ASSERT_EQ(taken.status, 200) << taken.body;
  const auto listed = store->List();
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_NE(taken.body.find("\"snapshot_id\": \"" + listed[0].id + "\""), std::string::npos)
      << taken.body;
  e.engine.Pause("s");
  const auto paused = Curl("-X POST -H 'Authorization: Bearer t0ken' " + url);
  EXPECT_EQ(paused.status, 409);
  EXPECT_NE(paused.body.find("paused"), std::string::npos) << paused.body;
  e.engine.Resume("s");
  e.server.reset();
  e.engine.Stop();
  std::filesystem::remove_all(dir);
}

TEST(HttpServer, AdminRebaselineReloadsTheSourceAndResetNeedsAResettableSource) {
  LAREDO_REQUIRE_TOOL(curl, "curl");
  ServedEngine e;
  e.source->AddRow(kUsers, User(1, "a"));
  e.Start({.admin_enabled = true, .bearer_token = "t0ken"});
  ASSERT_TRUE(e.engine.AwaitReady(10s));
  const auto baselines = e.source->BaselineCount();
  const auto auth = std::string("-X POST -H 'Authorization: Bearer t0ken' ");
  EXPECT_EQ(Curl("-X POST " + Url(e.Port(), "/admin/sources/s/rebaseline")).status, 401);
  const auto rebaseline = Curl(auth + Url(e.Port(), "/admin/sources/s/rebaseline"));
  EXPECT_EQ(rebaseline.status, 202) << rebaseline.body;
  ASSERT_TRUE(Eventually([&] { return e.source->BaselineCount() == baselines + 1; }));
  ASSERT_TRUE(e.engine.AwaitReady(10s));
  // The test source keeps no state to discard: refused with the reason, nothing changes.
  const auto reset = Curl(auth + Url(e.Port(), "/admin/sources/s/reset"));
  EXPECT_EQ(reset.status, 409) << reset.body;
  EXPECT_NE(reset.body.find("cannot be reset"), std::string::npos) << reset.body;
  EXPECT_EQ(Curl(auth + Url(e.Port(), "/admin/sources/s/reset?drop_publication=maybe")).status,
            400);
  EXPECT_EQ(Curl(auth + Url(e.Port(), "/admin/sources/nope/rebaseline")).status, 404);
  EXPECT_EQ(e.source->BaselineCount(), baselines + 1);
}

TEST(HttpServer, AdminReloadReloadsOneTableAndSaysWhatIsWrongWithARequest) {
  LAREDO_REQUIRE_TOOL(curl, "curl");
  ServedEngine e;
  e.source->AddRow(kUsers, User(1, "a"));
  e.Start({.admin_enabled = true, .bearer_token = "t0ken"});
  ASSERT_TRUE(e.engine.AwaitReady(10s));
  const auto auth = std::string("-X POST -H 'Authorization: Bearer t0ken' ");
  const auto path = "/admin/sources/s/reload?table=public.users";
  EXPECT_EQ(Curl("-X POST " + Url(e.Port(), path)).status, 401);
  EXPECT_EQ(e.source->ReloadCount(), 0);
  const auto reload = Curl(auth + Url(e.Port(), path));
  EXPECT_EQ(reload.status, 202) << reload.body;
  EXPECT_NE(reload.body.find("reloading public.users"), std::string::npos) << reload.body;
  ASSERT_TRUE(Eventually([&] { return e.source->ReloadCount() == 1; }));
  EXPECT_EQ(e.source->BaselineCount(), 1);  // one table reloaded, no baseline
  // Percent-encoded names work; a table without a pipeline is a conflict, with the reason.
  EXPECT_EQ(Curl(auth + Url(e.Port(), "/admin/sources/s/reload?table=public%2Eusers")).status, 202);
  ASSERT_TRUE(Eventually([&] { return e.source->ReloadCount() == 2; }));
  const auto other = Curl(auth + Url(e.Port(), "/admin/sources/s/reload?table=public.other"));
  EXPECT_EQ(other.status, 409) << other.body;
  EXPECT_NE(other.body.find("no pipeline of public.other"), std::string::npos) << other.body;
  for (const auto* bad : {"", "?table=", "?table=users", "?table=.users", "?table=public.",
                          "?table=public.users&x=1", "?name=public.users", "?table=%zz"}) {
    const auto r = Curl(auth + Url(e.Port(), std::string("/admin/sources/s/reload") + bad));
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  EXPECT_EQ(Curl(auth + Url(e.Port(), path)).status, 202);
  ASSERT_TRUE(Eventually([&] { return e.source->ReloadCount() == 3; }));
}

TEST(HttpServer, MetricsWithoutARegistryAre404) {
  LAREDO_REQUIRE_TOOL(curl, "curl");
  ServedEngine e;
  e.engine.Start();
  http::Server server(e.engine);
  EXPECT_EQ(Curl(Url(server.Port(), "/metrics")).status, 404);
  EXPECT_EQ(Curl(Url(server.Port(), "/health/live")).status, 200);
}

TEST(HttpServer, RejectsUnsafeOrInvalidOptions) {
  ServedEngine e;
  e.engine.Start();
  EXPECT_THROW(http::Server(e.engine, {.admin_enabled = true}), ConfigError);  // no token
  EXPECT_THROW(http::Server(e.engine, {.bind_address = "localhost"}), ConfigError);
  EXPECT_THROW(http::Server(e.engine, {.threads = 0}), ConfigError);
  EXPECT_THROW(http::Server(e.engine, {.read_timeout = 0ms}), ConfigError);
  http::Server first(e.engine);
  EXPECT_NE(first.Port(), 0);
  try {
    http::Server second(e.engine, {.port = first.Port()});
    ADD_FAILURE() << "two servers on one port";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), "http_listen") << error.what();
  }
}

TEST(HttpServer, StopIsIdempotentAndClosesTheListener) {
  ServedEngine e;
  e.Start();
  const auto port = e.Port();
  e.server->Stop();
  e.server->Stop();
  RawClient client(port);
  EXPECT_FALSE(client.Connected());
}

}  // namespace
}  // namespace laredo::testing
