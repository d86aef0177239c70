// Connection faults while the engine applies backpressure (the server restart variant is in
// server_restart_it_test.cpp: it runs alone).
#include "backpressure_fault.hpp"

namespace laredo::pg::testing {
namespace {

TEST_F(PgTest, StatefulSourceLosesNoChangeWhenTheWalsenderDiesUnderBackpressure) {
  LoseConnectionUnderBackpressure(
      *this, SlotMode::Stateful, [&] { ASSERT_TRUE(Eventually([&] { return KillWalsender(); })); });
}

TEST_F(PgTest, EphemeralSourceRebaselinesWhenTheWalsenderDiesUnderBackpressure) {
  LoseConnectionUnderBackpressure(*this, SlotMode::Ephemeral, [&] {
    ASSERT_TRUE(Eventually([&] { return KillWalsender(); }));
  });
}

}  // namespace
}  // namespace laredo::pg::testing
