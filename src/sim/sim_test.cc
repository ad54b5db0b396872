#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/sim_executor.h"

namespace ringdb::sim {
namespace {

// A small workload of actors that talk through posts, timers and storage completions, the way
// node components will. Returns the trace of (virtual time, event) it produced.
std::vector<std::string> run_workload(uint64_t seed) {
  SimExecutor executor(seed);
  SimStorageBridge storage(executor, 8, 200);
  std::vector<std::string> trace;
  auto log = [&](const std::string& what) {
    trace.push_back(std::to_string(executor.clock().monotonic_micros()) + " " + what);
  };
  for (int actor = 0; actor < 5; ++actor) {
    for (int round = 0; round < 4; ++round) {
      // Every actor ticks at the same instants, so their order is the seed's choice.
      executor.schedule_after(1000 * round, [&, actor, round] {
        log("tick a" + std::to_string(actor) + " r" + std::to_string(round));
        executor.post([&, actor] { log("posted a" + std::to_string(actor)); });
        Status s = storage.submit([] {}, [&, actor] { log("stored a" + std::to_string(actor)); });
        if (!s.is_ok()) log("overloaded a" + std::to_string(actor));
      });
    }
  }
  TimerId never = executor.schedule_after(500, [&] { log("cancelled timer ran"); });
  EXPECT_TRUE(executor.cancel(never));
  executor.run_until_idle();
  return trace;
}

TEST(SimExecutor, SameSeedSameOrderOtherSeedOtherOrder) {
  const auto first = run_workload(7);
  const auto again = run_workload(7);
  const auto other = run_workload(8);
  ASSERT_EQ(first.size(), 5u * 4u * 3u);
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
  for (const auto& line : first) EXPECT_EQ(line.find("cancelled"), std::string::npos);
}

TEST(SimExecutor, VirtualTimeJumpsToDeadlines) {
  SimExecutor executor(1);
  const int64_t start = executor.clock().now_micros();
  int64_t fired_at = 0;
  executor.schedule_after(3'600'000'000, [&] { fired_at = executor.clock().now_micros(); });
  executor.run_for(1'000'000);
  EXPECT_EQ(fired_at, 0);
  EXPECT_EQ(executor.clock().now_micros(), start + 1'000'000);
  executor.run_until_idle();
  EXPECT_EQ(fired_at, start + 3'600'000'000);
}

}  // namespace
}  // namespace ringdb::sim
