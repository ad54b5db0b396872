#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "runtime/event_loop.h"
#include "runtime/rng.h"
#include "runtime/storage_bridge.h"

namespace ringdb {
namespace {

TEST(Rng, SeededSequencesRepeat) {
  SeededRng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
  for (int i = 0; i < 1000; ++i) {
    int64_t v = a.uniform_range(-3, 3);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 3);
  }
}

TEST(EventLoop, TimersRunInDeadlineOrderAndCancel) {
  SystemClock clock;
  EventLoop loop(clock);
  std::vector<int> order;
  loop.schedule_after(20'000, [&] {
    order.push_back(2);
    loop.stop();
  });
  loop.schedule_after(5'000, [&] { order.push_back(1); });
  TimerId cancelled = loop.schedule_after(1'000, [&] { order.push_back(99); });
  EXPECT_TRUE(loop.cancel(cancelled));
  EXPECT_FALSE(loop.cancel(cancelled));
  loop.post([&] { order.push_back(0); });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(StorageBridge, CompletionsComeBackOnTheLoopAndQueueIsBounded) {
  SystemClock clock;
  EventLoop loop(clock);
  const auto loop_thread = std::this_thread::get_id();
  std::mutex gate;
  gate.lock();  // holds the workers so the queue fills
  int completed = 0;
  {
    ThreadPoolBridge bridge(loop, 2, 4);
    for (int i = 0; i < 4; ++i) {
      Status s = bridge.run<int>(
          [&gate, i] {
            std::lock_guard hold(gate);
            return i * 10;
          },
          [&, i](int value) {
            EXPECT_EQ(value, i * 10);
            EXPECT_EQ(std::this_thread::get_id(), loop_thread);
            if (++completed == 4) loop.stop();
          });
      ASSERT_TRUE(s.is_ok());
    }
    Status full = bridge.submit([] {}, [] {});
    EXPECT_EQ(full.code(), StatusCode::kOverloaded);
    gate.unlock();
    loop.run();
  }
  EXPECT_EQ(completed, 4);
}

}  // namespace
}  // namespace ringdb
